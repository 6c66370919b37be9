"""Sign-in and sign-out pages."""

from urllib.parse import urlsplit

from flask import flash, make_response, redirect, render_template, request, session, url_for
from flask_login import current_user, logout_user

from .. import htmx
from ..extensions import login_manager
from . import bp, services
from .forms import LoginForm
from .navigation import staff_home_url
from .scope import staff_required


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site (``/…``), else None: no open redirects."""
    if not target or len(target) > 2000 or not target.startswith("/") or target.startswith("//"):
        return None
    if any(ch == "\\" or ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The sign-in form; a right password starts a server-side session."""
    return sign_in("auth/login.html")


def sign_in(template: str):
    """A sign-in page (staff's, and the deputies' desk's in its own layout): the same
    accounts, throttling and sessions; each person lands on their own start page."""
    target = safe_next(request.args.get("next"))
    if current_user.is_authenticated and request.method == "GET":
        return redirect(target or staff_home_url())
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.username.data, form.password.data, request.remote_addr)
        except services.LoginRefused as refused:
            form.form_errors.append(refused.message)
            if refused.throttled and not htmx.is_htmx_request():
                status = 429
        else:
            begin_session(user)
            return redirect(target or staff_home_url(user))
    # The status says "wait" to a plain browser; htmx would not swap a 429 in.
    return htmx.vary(make_response(render_template(template, form=form, next=target), status))


def begin_session(user) -> None:
    """Start a signed-in session in this browser for ``user`` (the sign-in page, the desk's activation)."""
    # A new cookie from scratch: nothing from before signing in carries over
    # (no session fixation), and any session this browser still had ends.
    services.end_session(session.get(services.SESSION_KEY))
    session.clear()
    session[services.SESSION_KEY] = services.start_session(user)
    # A browser-session cookie: closing the browser on a shared desk computer
    # signs out; idle time ends the session on the server either way.
    session.permanent = False


@bp.post("/logout")
def logout():
    """Sign out: the session ends on the server and the cookie loses its token."""
    services.end_session(session.get(services.SESSION_KEY))
    logout_user()
    session.clear()
    flash("您已退出登录。", "success")
    return redirect(url_for("auth.login"))


@bp.get("/welcome")
@staff_required()
def welcome():
    """Where signing in leads while the queue is not there."""
    return render_template("auth/welcome.html")


@login_manager.unauthorized_handler
def unauthorized():
    """Not signed in (or no longer): to the sign-in page, coming back here afterwards.

    An htmx request gets an ``HX-Redirect`` so the whole page goes to the
    sign-in form, instead of a sign-in form swapped into a fragment.
    """
    flash(login_manager.login_message, "warning")
    # A deputy's desk has its own sign-in page, made for a phone.
    page = "desk.login" if request.blueprint == "desk" else "auth.login"
    login_url = url_for(page, next=_return_path())
    if htmx.is_htmx_request():
        return htmx.redirect_page(login_url, 401)
    return htmx.vary(redirect(login_url))


def _return_path() -> str | None:
    """The page to come back to after signing in: for htmx, the page shown, not the fragment."""
    if shown := htmx.current_url():
        current = urlsplit(shown)
        if current.netloc != request.host:
            return None
        return safe_next(current.path + (f"?{current.query}" if current.query else ""))
    if request.method != "GET":
        return None
    query = request.query_string.decode("utf-8", "replace")
    return safe_next(request.path + (f"?{query}" if query else ""))



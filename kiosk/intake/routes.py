"""The kiosk screens: from the home screen to a receipt, one step at a time.

Each step is an htmx fragment (``#screen``) included by one full page, so
every form also works as a plain POST. Answers go to the server-side draft as
soon as a step is done; the browser keeps only the draft's id in the session.
"""

import logging
import subprocess

from flask import Response, after_this_request, current_app, g, request, send_file, session

from ..clock import today
from ..crash import crash_point
from ..duty.services import entered_by
from ..extensions import db
from .. import prompts, voice
from ..htmx import is_fragment_request, render
from ..ime.screens import end_screen_session
from ..models import CONTENT_MAX, RatingSource
from ..public.forms import KioskRatingForm
from ..public.lookup import TooManyGuesses, find_receipt
from ..public.rating import RatingRefused, rate
from ..public.routes import rating_context
from ..receipts import printing
from ..receipts.services import receipt_url
from ..roster.services import next_duty_days, on_duty
from ..sync import request_sync
from ..text import mask_phone
from . import bp, services
from .forms import CategoryForm, ContactForm, ContentForm, DeputyForm, LookupForm

log = logging.getLogger(__name__)

STEPS = ("category", "content", "contact", "deputy", "review")
STEP_TITLES = {
    "category": "选择类别",
    "content": "写下意见",
    "contact": "联系方式",
    "deputy": "选择代表",
    "review": "核对提交",
}


# What the steps with typed fields keep when left by 上一步, read from their forms.
TYPED_FIELDS = {
    "content": (ContentForm, ("content",)),
    "contact": (ContactForm, ("consent", "name", "phone")),
}


@bp.after_request
def no_store(response):
    """Nothing a villager typed may stay in a cache or come back with "back"."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


@bp.errorhandler(services.DraftMissing)
def draft_missing(error):
    """The draft was wiped (idle, start over) or never existed: start again kindly."""
    session.pop("draft_id", None)
    return screen("_start_again.html")


def screen(fragment: str, status: int = 200, partial: str | None = None, **context):
    """Render a kiosk screen: the fragment for htmx, else the whole page.

    ``partial`` is a smaller piece htmx asks for (a look-up result) while the
    full page still shows the whole screen.
    """
    screen_template = f"intake/{fragment}"
    return render(
        "intake/page.html",
        f"intake/{partial}" if partial else screen_template,
        status,
        screen_template=screen_template,
        station=services.this_station(),
        **context,
    )


def current_draft():
    return services.get_draft(session.get("draft_id"))


def step_sequence(station) -> list[str]:
    """The steps this station shows: no deputy step where none are attached."""
    return [s for s in STEPS if s != "deputy" or station.deputies]


def show_step(step: str, draft, form=None, message: str | None = None):
    """One step of the walk, filled with the answers the draft already has."""
    station = services.this_station()
    steps = step_sequence(station)
    if step not in steps:
        step = "review"
    answers = services.draft_answers(draft)
    if step == "review" and (missing := services.missing_step(answers)):
        step = missing
    index = steps.index(step)
    context = {
        "step": step,
        "step_number": index + 1,
        "step_count": len(steps),
        "steps": steps,
        "step_titles": [STEP_TITLES[s] for s in steps],
        "previous_step": steps[index - 1] if index else None,
        "keeps_typed": step in TYPED_FIELDS,
        "answers": answers,
        "message": message,
    }
    if step == "category":
        context["categories"] = services.active_categories()
    elif step == "content":
        shown = services.typed_or_answers(answers, "content", content=answers.get("content", ""))
        context["form"] = form or ContentForm(formdata=None, **shown)
        kept = voice.of(draft.id)
        context.update(
            content_min=0 if kept else services.CONTENT_MIN,
            min_written=services.CONTENT_MIN,
            content_max=CONTENT_MAX,
            voice=kept,
        )
    elif step == "contact":
        shown = services.typed_or_answers(
            answers,
            "contact",
            consent=not answers.get("anonymous", True),
            name=answers.get("name", ""),
            phone=answers.get("phone", ""),
        )
        context["form"] = form or ContactForm(formdata=None, **shown)
    elif step == "deputy":
        context["deputies"] = station.deputies
    elif step == "review":
        context.update(review_context(answers, station))
    return screen(f"_{step}.html", **context)


def review_context(answers: dict, station) -> dict:
    category = next((c for c in services.active_categories() if c.code == answers.get("category")), None)
    deputy = next((d for d in station.deputies if d.id == answers.get("deputy_id")), None)
    return {"category": category, "deputy": deputy, "masked_phone": mask_phone(answers.get("phone"))}


def next_step(step: str) -> str:
    steps = step_sequence(services.this_station())
    return steps[min(steps.index(step) + 1, len(steps) - 1)]


def previous_step(step: str) -> str:
    steps = step_sequence(services.this_station())
    return steps[max(steps.index(step) - 1, 0)] if step in steps else steps[-1]



# --- home and the walk --------------------------------------------------------


@bp.get("/")
def home():
    """The home screen: leave an opinion, or check a receipt; today's deputies on duty here."""
    return home_screen()


def home_screen():
    # The home screen is where a visit begins and ends: the read-aloud language is asked again.
    session.pop("read_aloud", None)
    return screen(
        "_home.html", on_duty=on_duty(services.this_station().code, today()), has_printer=printing.has_printer()
    )


@bp.get("/deputies")
def deputies():
    """本站代表: every deputy of this station, with their next duty days."""
    station = services.this_station()
    upcoming = next_duty_days(station.code, today())
    return screen("_deputies.html", deputies=station.deputies, duty_days=upcoming, today=today())


@bp.post("/opinion/start")
def start():
    """Begin a new opinion on a fresh server-side draft."""
    services.discard_draft(session.pop("draft_id", None))
    end_screen_session()
    draft = services.start_draft(services.this_station().code)
    session["draft_id"] = draft.id
    return show_step("category", draft)


@bp.get("/opinion/step/<step>")
def step(step):
    """Show a step again (back, or "修改" on the review screen)."""
    if step not in STEPS:
        return screen("_start_again.html", 404)
    return show_step(step, current_draft())


@bp.post("/opinion/back/<step>")
def back(step):
    """上一步: keep what this step holds as typed (checked on 下一步), then the step before."""
    if step not in STEPS:
        return screen("_start_again.html", 404)
    draft = current_draft()
    if step in TYPED_FIELDS:
        form_class, names = TYPED_FIELDS[step]
        form = form_class()
        typed = {name: form[name].data for name in names}
        # Name and phone only with consent, as 下一步 would have them.
        if step == "contact" and not typed["consent"]:
            typed = {"consent": False, "name": "", "phone": ""}
        services.keep_typed(draft, step, typed)
    return show_step(previous_step(step), draft)


@bp.post("/opinion/category")
def choose_category():
    """Save the category and go on to the text."""
    draft = current_draft()
    form = CategoryForm()
    codes = {c.code for c in services.active_categories()}
    if not form.validate_on_submit() or form.category.data not in codes:
        return show_step("category", draft, message="请点选一类意见。")
    services.save_answers(draft, category=form.category.data)
    return show_step("content", draft)


@bp.post("/opinion/content")
def write_content():
    """Save the opinion's text (cleaned, kept as typed otherwise)."""
    draft = current_draft()
    form = ContentForm()
    form.spoken = bool(services.draft_answers(draft).get("voice"))
    if not form.validate_on_submit():
        return show_step("content", draft, form=form)
    services.save_answers(draft, content=form.content.data, typed_content=None)
    return show_step("contact", draft)


@bp.post("/opinion/voice")
def keep_voice():
    """保留: check the recording the browser sends (the body, WebM/Opus) and keep it with the draft."""
    draft = current_draft()
    _max_seconds, max_bytes = voice.limits()
    if (request.content_length or 0) > max_bytes:
        return voice_panel(draft, f"录音文件太大（最多 {max_bytes // 1024} KB），请说得简短一些再录。")
    # Read only now, under the recording's own cap rather than the forms' one.
    request.max_content_length = max_bytes
    try:
        recording = voice.check(request.get_data(cache=False))
    except voice.VoiceRefused as refused:
        return voice_panel(draft, refused.message)
    services.keep_voice(draft, recording)
    return voice_panel(draft)


@bp.get("/opinion/voice")
def play_voice():
    """The recording kept with this visit's draft, to play back (播放)."""
    draft = current_draft()
    data = voice.audio(draft.id)
    if data is None:
        return screen("_start_again.html", 404)
    return Response(data, mimetype=voice.MIME_TYPE, headers={"Cache-Control": "no-store"})


@bp.post("/opinion/voice/delete")
def drop_voice():
    """重录: forget the kept recording; the text is needed again unless a new one is kept."""
    draft = current_draft()
    services.drop_voice(draft)
    return voice_panel(draft)


def voice_panel(draft, message: str | None = None):
    """The voice panel alone for the kiosk's script, else the whole writing step."""
    if not is_fragment_request():
        return show_step("content", draft, message=message)
    return render(
        # Asked for by the kiosk's script only: shown at once.
        "intake/page.html", "intake/_voice.html", voice=voice.of(draft.id), voice_message=message, voice_shown=True
    )


@bp.post("/opinion/contact")
def give_contact():
    """Stay anonymous, or give name and phone with explicit consent."""
    draft = current_draft()
    form = ContactForm()
    if request.form.get("anonymous") == "1":
        services.save_answers(draft, anonymous=True, consent_version=None, name=None, phone=None, typed_contact=None)
        return show_step(next_step("contact"), draft)
    if not form.validate_on_submit():
        return show_step("contact", draft, form=form)
    if form.consent.data:
        services.save_answers(
            draft,
            anonymous=False,
            consent_version=current_app.config["CONSENT_VERSION"],
            name=form.name.data,
            phone=form.phone.data,
            typed_contact=None,
        )
    elif form.name.data or form.phone.data:
        return show_step("contact", draft, form=form, message="如要留下联系方式，请先勾选“我同意”。")
    else:
        services.save_answers(draft, anonymous=True, consent_version=None, name=None, phone=None, typed_contact=None)
    return show_step(next_step("contact"), draft)


@bp.post("/opinion/deputy")
def choose_deputy():
    """Save the deputy the person wants to reach (or none)."""
    draft = current_draft()
    form = DeputyForm()
    ids = {d.id for d in services.this_station().deputies}
    if not form.validate_on_submit() or (form.deputy_id.data is not None and form.deputy_id.data not in ids):
        return show_step("deputy", draft, message="请从名单中选择代表，或点“不指定”。")
    services.save_answers(draft, deputy_id=form.deputy_id.data)
    return show_step("review", draft)


@bp.get("/opinion/review")
def review():
    """Everything given so far, with a way to change each part."""
    return show_step("review", current_draft())


@bp.post("/opinion/submit")
def submit():
    """Save the opinion once (a second tap finds the first), then print."""
    # Read in the saving transaction, so the receipt screen needs no other.
    services.this_station()
    try:
        submitted = services.submit_draft(
            session.get("draft_id"), per_minute=current_app.config["SUBMIT_PER_MINUTE"], with_print_job=True
        )
    except services.TooManySubmissions:
        return screen("_wait.html")
    except services.CatchingUp:
        return screen("_restoring.html")
    except services.DraftIncomplete as error:
        return show_step(error.step, current_draft(), message="这一步还没有填好，请先完成。")
    url = receipt_url(submitted.opinion)
    crash_point("before_response")
    once_sent(start_printing_and_sync, submitted, url)
    return receipt_screen(submitted.opinion, print_receipt(submitted, url), submitted.voice_ms)


def print_receipt(submitted, url: str):
    """The status of the saved opinion's receipt, for the screen.

    The first job was saved with the opinion; it starts once the response
    is sent (``start_printing_and_sync``). A repeated submit shows the job
    the first one started. A submit that finds its opinion saved without a
    job (saved before jobs were saved with their opinions) starts it then.
    """
    try:
        job = submitted.print_job or printing.latest_job(submitted.opinion)
        return printing.print_status(job or printing.start_printing(submitted.opinion, url=url))
    except Exception:  # the opinion is safe; the screen shows its number and QR anyway
        log.exception("could not start printing %s", submitted.opinion.receipt_number)
        db.session.rollback()
        return None


def once_sent(work, *args) -> None:
    """Run ``work(*args)`` in the app's context once this request's response is sent.

    Flask's teardown runs before the server writes the body; a WSGI server
    closes the response after writing it. Work hung on that close takes
    nothing from the screen the person is waiting for. Hung on the error
    page too, should making the screen fail; and when an error leaves no
    response at all (propagated, as under a debugger), run at teardown.
    """
    app = current_app._get_current_object()
    pending = {"hung": False}

    def run():
        try:
            with app.app_context():
                work(*args)
        except Exception:
            log.exception("work after the response (%s) failed", getattr(work, "__name__", work))

    @after_this_request
    def hang_on_close(response):
        response.call_on_close(run)
        pending["hung"] = True
        return response

    g.setdefault("unsent", []).append((pending, run))


@bp.teardown_request
def run_unsent(error=None):
    """Work ``once_sent`` could not hang on a response: there was none."""
    for pending, run in g.pop("unsent", []):
        if not pending["hung"]:
            run()


def start_printing_and_sync(submitted, url: str) -> None:
    """Start what a submission leaves to background threads.

    The printer's thread renders the PDF, in Python, holding the
    interpreter while it works; the sync loop talks to the township.
    Started before the receipt screen is on its way, either would slow it
    down. The receipt still prints when making the screen failed.
    """
    if submitted.print_job is not None:
        try:
            printing.start_job(submitted.print_job, url)
        except Exception:  # the job is marked failed; the screen's next poll says so
            log.exception("could not start printing %s", submitted.opinion.receipt_number)
    if submitted.created:
        # Saved first; now send it to the township as soon as the link allows.
        request_sync()


def receipt_screen(opinion, print_status, voice_ms: int | None = None):
    # The QR code is an image of its own (receipts.receipt_qr): encoding it
    # takes a few milliseconds the tap on 提交 need not wait for.
    # Only in deputy mode can a deputy have typed it: a villager's submit reads nothing more.
    typed_by = entered_by(opinion.uuid) if session.get("duty_checkin") else None
    return screen(
        "_receipt.html", opinion=opinion, print_status=print_status, entered_by=typed_by, voice_ms=voice_ms
    )


@bp.post("/opinion/restart")
def restart():
    """Start over: wipe the draft and go home."""
    return wipe_and_go_home()


@bp.post("/opinion/idle")
def idle():
    """The idle timer ran out: wipe the draft and go home."""
    return wipe_and_go_home()


def wipe_and_go_home():
    # Only the draft goes: the session also holds the CSRF token the open page uses.
    services.discard_draft(session.pop("draft_id", None))
    end_screen_session()
    return home_screen()


# --- 朗读 ------------------------------------------------------------------------


@bp.post("/read-aloud/language")
def choose_read_aloud():
    """普通话 or 粤语 for 朗读, kept until this visit ends."""
    language = request.form.get("language", "")
    if language not in prompts.LANGUAGES:
        return Response("请选择普通话或粤语。", status=400, mimetype="text/plain")
    session["read_aloud"] = language
    return Response(status=204)


@bp.get("/read-aloud/<screen>/<language>.wav")
def prompt(screen, language):
    """A screen's words read aloud, made at set-up (or now, after a wording changed)."""
    if screen not in prompts.WORDING or language not in prompts.LANGUAGES:
        return Response(status=404)
    try:
        made = prompts.make(screen, language, in_child=True)
    except (OSError, subprocess.SubprocessError):
        log.exception("could not make the read-aloud prompt %s/%s", screen, language)
        return Response(status=404)
    return send_file(made, mimetype="audio/wav", max_age=0)


# --- receipt look-up at the kiosk ------------------------------------------------


@bp.route("/lookup", methods=["GET", "POST"])
def lookup():
    """Type a receipt's number and 验证码 to see how it is going."""
    form = LookupForm()
    if request.method == "GET":
        return screen("_lookup.html", form=LookupForm(formdata=None))
    if not form.validate_on_submit():
        return lookup_result(form, None)
    try:
        opinion = find_receipt(form.number.data, form.secret.data)
    except TooManyGuesses:
        return lookup_result(form, None, locked=True)
    return lookup_result(form, opinion)


@bp.post("/lookup/rating")
def rate_opinion():
    """Rate a closed opinion from the look-up: 满意 / 基本满意 / 不满意."""
    rating_form = KioskRatingForm()
    form = LookupForm(formdata=None, number=rating_form.number.data, secret=rating_form.secret.data)
    try:
        opinion = find_receipt(rating_form.number.data, rating_form.secret.data)
    except TooManyGuesses:
        return lookup_result(form, None, locked=True)
    message = None
    if opinion is not None and rating_form.validate_on_submit():
        try:
            rate(opinion, rating_form.value.data, rating_form.comment.data, RatingSource.KIOSK)
        except RatingRefused as refused:
            message = refused.message
    return lookup_result(form, opinion, rating_form, message)


def lookup_result(form, opinion, rating_form=None, message=None, locked=False):
    """The look-up's result: the status and, once closed, the rating."""
    context = {"opinion": opinion, "locked": locked}
    if opinion is not None:
        rating_form = rating_form or KioskRatingForm(
            formdata=None, number=opinion.receipt_number, secret=opinion.current_secret
        )
        context = rating_context(opinion, rating_form, message)
    return screen("_lookup.html", partial="_lookup_result.html", form=form, searched=True, **context)

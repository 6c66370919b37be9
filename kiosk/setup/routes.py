"""The city's set-up pages: townships, categories, departments, stations, accounts, fleet."""

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ..auth import services as accounts
from ..auth.scope import staff_required, township_or_404
from ..extensions import db
from ..htmx import render
from ..models import Category, Department, Role, Station, StationLevel, Township, User
from ..parsing import bounded_int
from . import bp, services
from .forms import (
    CategoryForm,
    DepartmentForm,
    EmptyForm,
    PasswordForm,
    RevokeForm,
    StationEditForm,
    StationForm,
    TownshipForm,
    UserForm,
    icon_label,
)

city_only = staff_required(Role.CITY)


def _submit(form, write) -> tuple[bool, object]:
    """Validate ``form`` and call ``write()``: (True, its result).

    (False, None) when the form is invalid or the service refuses; the refusal is put on the form.
    """
    if not form.validate_on_submit():
        return False, None
    try:
        return True, write()
    except (services.Refused, accounts.AccountRefused) as refusal:
        field = form._fields.get(getattr(refusal, "field", None) or "")
        (field.errors if field is not None else form.form_errors).append(refusal.message)
        return False, None


def _data(form) -> dict:
    return {name: field.data for name, field in form._fields.items() if name != "csrf_token"}


def _form_page(form, title, back, submit, **context):
    return render_template("setup/form.html", form=form, title=title, back=back, submit=submit, **context)


def _add_or_change(form, write, *, saved: str, back: str, title: str, submit: str = "保存", **context):
    """The add and change pages: on success flash ``saved`` and go ``back``; else the form again (200)."""
    done, _result = _submit(form, write)
    if done:
        flash(saved, "success")
        return redirect(back)
    return _form_page(form, title, back, submit, **context)


def _townships():
    return db.session.scalars(select(Township).order_by(Township.id)).all()


def _township_filter():
    """The township chosen by ``?township=ID``, or None for all (a bad value means all)."""
    township_id = bounded_int(request.args.get("township"))
    return db.session.get(Township, township_id) if township_id is not None else None


@bp.get("/")
@city_only
def index():
    """Links to each set-up area."""
    return render_template("setup/index.html")


# --- townships --------------------------------------------------------------


@bp.get("/townships")
@city_only
def townships():
    """Every township with its kind and office phone."""
    return render_template("setup/townships.html", townships=_townships())


@bp.route("/townships/new", methods=["GET", "POST"])
@city_only
def new_township():
    """Add a township."""
    form = TownshipForm()
    return _add_or_change(
        form,
        lambda: services.save_township(current_user, None, **_data(form)),
        saved=f"已添加镇街“{form.name.data}”。",
        back=url_for(".townships"),
        title="添加镇街",
        submit="添加",
    )


@bp.route("/townships/<int:township_id>", methods=["GET", "POST"])
@city_only
def edit_township(township_id):
    """Change a township's name, kind or office phone."""
    township = db.get_or_404(Township, township_id)
    form = TownshipForm(obj=township)
    return _add_or_change(
        form,
        lambda: services.save_township(current_user, township, **_data(form)),
        saved=f"已保存镇街“{form.name.data}”。",
        back=url_for(".townships"),
        title=f"修改镇街：{township.name}",
    )


# --- categories -------------------------------------------------------------


@bp.get("/categories")
@city_only
def categories():
    """Every category with its icon, order and time limits."""
    rows = db.session.scalars(select(Category).order_by(Category.position, Category.code)).all()
    return render_template("setup/categories.html", categories=rows, icon_label=icon_label)


@bp.route("/categories/new", methods=["GET", "POST"])
@city_only
def new_category():
    """Add a category."""
    form = CategoryForm()
    return _add_or_change(
        form,
        lambda: services.save_category(current_user, None, **_data(form)),
        saved=f"已添加类别“{form.name.data}”。",
        back=url_for(".categories"),
        title="添加类别",
        submit="添加",
        icons=True,
    )


@bp.route("/categories/<code>", methods=["GET", "POST"])
@city_only
def edit_category(code):
    """Change a category (not its code)."""
    category = db.get_or_404(Category, code)
    form = CategoryForm(obj=category, editing=True)
    return _add_or_change(
        form,
        lambda: services.save_category(current_user, category, **_data(form)),
        saved=f"已保存类别“{form.name.data}”。",
        back=url_for(".categories"),
        title=f"修改类别：{category.name}",
        code=category.code,
        icons=True,
    )


# --- departments ------------------------------------------------------------
# Open to every staff role: a township's staff manage their township's own
# departments here; city departments are the city's.


def _department_or_refuse(department_id: int) -> Department:
    """The department, if the actor may manage it: another township's is a 404 (audited), the city's a 403."""
    department = db.get_or_404(Department, department_id)
    if department.township_id is not None:
        township_or_404(current_user, department.township_id)
    if not services.may_manage_department(current_user, department.township_id):
        abort(403)
    return department


def _department_form(**kwargs) -> DepartmentForm:
    """The form; city staff choose whose department it is, township staff's is always their own."""
    form = DepartmentForm(**kwargs)
    if current_user.is_city:
        form.township_id.choices = [("", "市直部门（各镇街都可转办）")] + [(str(t.id), t.name) for t in _townships()]
        if form.township_id.data is None:  # a city department
            form.township_id.data = ""
    else:
        del form.township_id
    return form


def _department_data(form) -> dict:
    data = _data(form)
    if "township_id" in data:
        data["township_id"] = bounded_int(data["township_id"])
    return data


@bp.get("/departments")
@staff_required()
def departments():
    """Departments to forward to: a township's own and the city's; city staff see every township's.

    Active ones first, each group in the order they were added: names sort by
    character code, which means nothing for Chinese names.
    """
    query = select(Department).order_by(Department.active.desc(), Department.township_id.is_not(None), Department.id)
    township = _township_filter() if current_user.is_city else current_user.township
    if township is not None:
        query = query.where(Department.township_id.is_(None) | (Department.township_id == township.id))
    return render_template(
        "setup/departments.html", departments=db.session.scalars(query).all(), form=EmptyForm(),
        township=township, townships=_townships() if current_user.is_city else [],
        may_manage=lambda d: services.may_manage_department(current_user, d.township_id),
    )  # fmt: skip


@bp.route("/departments/new", methods=["GET", "POST"])
@staff_required()
def new_department():
    """Add a department: a township's own, or (city staff) a city one."""
    form = _department_form()
    return _add_or_change(
        form,
        lambda: services.save_department(current_user, None, **_department_data(form)),
        saved=f"已添加部门“{form.name.data}”。",
        back=url_for(".departments"),
        title="添加部门" if current_user.is_city else f"添加{current_user.township.name}的部门",
        submit="添加",
    )


@bp.route("/departments/<int:department_id>", methods=["GET", "POST"])
@staff_required()
def edit_department(department_id):
    """Change a department's name or contact."""
    department = _department_or_refuse(department_id)
    form = _department_form(obj=department)
    return _add_or_change(
        form,
        lambda: services.save_department(current_user, department, **_department_data(form)),
        saved=f"已保存部门“{form.name.data}”。",
        back=url_for(".departments"),
        title=f"修改部门：{department.name}",
    )


@bp.post("/departments/<int:department_id>/<any(deactivate, reactivate):change>")
@staff_required()
def set_department_active(department_id, change):
    """Stop offering a department for forwarding, or offer it again."""
    department = _department_or_refuse(department_id)
    if EmptyForm().validate_on_submit():
        services.set_department_active(current_user, department, change == "reactivate")
        flash(f"部门“{department.name}”已{'启用' if department.active else '停用'}。", "success")
    return redirect(url_for(".departments"))


# --- stations ---------------------------------------------------------------


@bp.get("/stations")
@city_only
def stations():
    """Stations by township (``?township=ID`` for one)."""
    township = _township_filter()
    query = select(Station).join(Township).order_by(Township.id, Station.code)
    if township is not None:
        query = query.where(Station.township_id == township.id)
    return render_template(
        "setup/stations.html",
        stations=db.session.scalars(query).all(),
        townships=_townships(),
        township=township,
    )


@bp.route("/stations/new", methods=["GET", "POST"])
@city_only
def register_station():
    """Register a station; shows its first enrolment token once."""
    form = StationForm(townships=_townships())
    done, token = _submit(
        form,
        lambda: services.register_station(
            current_user,
            code=form.code.data,
            name=form.name.data,
            level=form.level.data,
            township=db.session.get(Township, form.township_id.data),
            address=form.address.data,
        ),
    )
    if done and token is None:
        # An online station: nothing to enrol.
        flash(f"已登记网上联络站 {form.code.data}：本镇街的手机留言以它的代码编号。", "success")
        return redirect(url_for(".stations", township=form.township_id.data))
    if done:
        return _token_page(db.session.get(Station, form.code.data), token, registered=True)
    return _form_page(form, "登记新联络站", url_for(".stations"), "登记并生成登记码")


@bp.route("/stations/<code>", methods=["GET", "POST"])
@city_only
def edit_station(code):
    """Change a station's name, level or address; links to its key actions."""
    station = db.get_or_404(Station, code)
    form = StationEditForm(obj=station)
    return _add_or_change(
        form,
        lambda: services.update_station(current_user, station, **_data(form)),
        saved=f"已保存联络站 {station.code}。",
        back=url_for(".stations", township=station.township_id),
        title=f"修改联络站：{station.code} {station.name}",
        station=station,
        key_form=EmptyForm(),
    )


@bp.post("/stations/<code>/token")
@city_only
def issue_token(code):
    """A fresh one-time enrolment token for a new or replaced box."""
    station = db.get_or_404(Station, code)
    if not EmptyForm().validate_on_submit():
        abort(400)
    if station.is_online:
        flash(f"{station.code} 是网上联络站，没有机器要登记，不需要登记码。", "error")
        return redirect(url_for(".edit_station", code=code))
    return _token_page(station, services.issue_token(current_user, station))


def _token_page(station, token, registered=False):
    # Shown once: the hub keeps only its hash, so no cache may keep the page.
    page = render_template(
        "setup/station_token.html",
        station=station,
        token=token,
        registered=registered,
        hub_url=request.host_url.rstrip("/"),
    )
    response = make_response(page)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/stations/<code>/revoke", methods=["GET", "POST"])
@city_only
def revoke_station(code):
    """Refuse a box's key from now on, after a reason and a confirmation."""
    station = db.get_or_404(Station, code)
    form = RevokeForm()
    return _add_or_change(
        form,
        lambda: services.revoke_station(current_user, station, form.reason.data),
        saved=f"已吊销联络站 {station.code} 的密钥。该站的记录仍保留；新机器需要新的登记码。",
        back=url_for(".edit_station", code=station.code),
        title=f"吊销密钥：{station.code} {station.name}",
        submit="吊销密钥",
        danger=True,
        station=station,
    )


# --- accounts ---------------------------------------------------------------


@bp.get("/users")
@city_only
def users():
    """Every staff account with its role and township."""
    rows = db.session.scalars(select(User).order_by(User.active.desc(), User.role, User.username)).all()
    return render_template("setup/users.html", users=rows, form=EmptyForm())


@bp.route("/users/new", methods=["GET", "POST"])
@city_only
def new_user():
    """Add a staff account."""
    form = UserForm(townships=_townships())

    def create():
        township = db.session.get(Township, form.township_id.data or 0)
        return accounts.create_user(
            form.username.data,
            form.password.data,
            form.role.data,
            township.name if township else None,
            form.display_name.data,
            actor=current_user,
        )

    return _add_or_change(
        form,
        create,
        saved=f"已添加账号 {form.username.data}。",
        back=url_for(".users"),
        title="添加账号",
        submit="添加",
    )


@bp.post("/users/<int:user_id>/<any(deactivate, reactivate):change>")
@city_only
def set_user_active(user_id, change):
    """Stop an account or let it sign in again."""
    user = db.get_or_404(User, user_id)
    if EmptyForm().validate_on_submit():
        try:
            services.set_user_active(current_user, user, change == "reactivate")
        except services.Refused as refusal:
            flash(refusal.message, "error")
        else:
            flash(f"账号 {user.username} 已{'启用' if user.active else '停用'}。", "success")
    return redirect(url_for(".users"))


@bp.route("/users/<int:user_id>/password", methods=["GET", "POST"])
@city_only
def reset_password(user_id):
    """Give an account a new password."""
    user = db.get_or_404(User, user_id)
    form = PasswordForm()
    return _add_or_change(
        form,
        lambda: accounts.set_password(user.username, form.password.data, actor=current_user),
        saved=f"已为 {user.username} 重设密码，该账号需要重新登录。",
        back=url_for(".users"),
        title=f"重设密码：{user.username}",
        submit="重设密码",
    )


# --- fleet ------------------------------------------------------------------


@bp.get("/fleet")
@city_only
def fleet():
    """Every station's link with the hub, problems first, a page at a time; filters by township and state."""
    township = _township_filter()
    show = request.args.get("show", "")
    if show not in services.FLEET_FILTERS:
        show = ""
    overview = services.fleet(township)
    return render(
        "setup/fleet.html",
        "setup/_fleet.html",
        listing=services.fleet_page(services.fleet_filtered(overview, show), request.args.get("page")),
        problems=services.fleet_problems,
        summary=services.fleet_summary(overview),
        townships=_townships(),
        township=township,
        show=show,
        filters=services.FLEET_FILTERS,
        levels={lv.value: lv.label for lv in StationLevel},
        printer_label=services.printer_label,
    )

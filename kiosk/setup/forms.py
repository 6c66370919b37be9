"""Forms of the city's set-up pages: plain fields, Chinese messages."""

from pathlib import Path

from flask import current_app
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, PasswordField, SelectField, StringField, ValidationError
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    StopValidation,
)

from ..auth.services import PASSWORD_MIN_LENGTH as MIN_PASSWORD_LENGTH
from ..models import Role, StationLevel
from ..receipts.numbers import STATION_CODE

TOWNSHIP_KINDS = [SelectChoice("镇"), SelectChoice("街道")]


def _whole_station_code(form, field) -> None:
    # The whole code: wtforms' Regexp matches only a prefix of what is typed.
    if not STATION_CODE.fullmatch(field.data or ""):
        raise ValidationError("站点代码须为 2 到 8 位大写字母或数字。")
LEVELS = [SelectChoice(level.value, level.label) for level in StationLevel]
ROLES = [SelectChoice(role.value, role.label) for role in Role]
DAYS = NumberRange(1, 60, "请填 1 到 60 之间的工作日数。")


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _blank_to_none(value):
    value = _strip(value)
    return value or None


class _SaysItInChinese:
    """A field whose refusal of unreadable input speaks Chinese (WTForms' own is English) and says it once."""

    refusal = ""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(self.refusal)

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation()
        try:
            super().pre_validate(form)
        except ValidationError:
            raise StopValidation(self.refusal)


class ChoiceField(_SaysItInChinese, SelectField):
    refusal = "请从列表中选择。"


class WholeNumber(_SaysItInChinese, IntegerField):
    refusal = "请填一个整数。"


# What each icon in static/icons/ shows, in Chinese: the set-up pages name
# icons by this, never by their file name.
ICON_NAMES = {
    "briefcase": "就业",
    "dots": "其他",
    "handshake": "调解",
    "house": "村务",
    "leaf": "环境",
    "opinion": "意见",
    "road": "道路",
    "school": "教育",
    "search": "查询",
    "shield": "保障",
    "water": "水利",
}


def icon_label(name: str) -> str:
    """An icon's Chinese name (图标 for one not in the list)."""
    return ICON_NAMES.get(name, "图标")


def icon_names() -> list[str]:
    """The icons a category may use: static/icons/*.svg, without the suffix."""
    return sorted(p.stem for p in (Path(current_app.static_folder) / "icons").glob("*.svg"))


class EmptyForm(FlaskForm):
    """Nothing but the CSRF token: for button-only POSTs."""


class TownshipForm(FlaskForm):
    name = StringField(
        "名称",
        filters=[_strip],
        validators=[DataRequired("请填写镇街名称。"), Length(max=40, message="名称最多 40 个字。")],
    )
    kind = ChoiceField("类别", choices=TOWNSHIP_KINDS, validators=[InputRequired("请选择镇或街道。")])
    office_phone = StringField(
        "人大办（街道人大工委）电话",
        filters=[_blank_to_none],
        validators=[Optional(), Length(max=40, message="电话最多 40 个字符。")],
    )


class CategoryForm(FlaskForm):
    code = StringField(
        "代码",
        filters=[_strip],
        description="小写字母、数字或连字符，如 road；建好后不能改",
        validators=[
            DataRequired("请填写代码。"),
            Regexp(
                r"^[a-z][a-z0-9-]{1,23}$", message="代码须为 2 到 24 位小写字母、数字或连字符，以字母开头。"
            ),
        ],
    )
    name = StringField(
        "名称",
        filters=[_strip],
        validators=[DataRequired("请填写类别名称。"), Length(max=20, message="名称最多 20 个字。")],
    )
    icon = ChoiceField("图标", validators=[InputRequired("请选择图标。")])
    position = WholeNumber(
        "排序",
        default=0,
        validators=[InputRequired("请填写排序号。"), NumberRange(0, 999, "排序号须在 0 到 999 之间。")],
    )
    active = BooleanField("在触摸屏上显示", default=True)
    accept_days = WholeNumber(
        "受理时限（工作日）", default=1, validators=[InputRequired("请填写受理时限。"), DAYS]
    )
    answer_days = WholeNumber(
        "办结时限（工作日）", default=15, validators=[InputRequired("请填写办结时限。"), DAYS]
    )

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.icon.choices = [SelectChoice(name, icon_label(name)) for name in icon_names()]
        if editing:
            # The code is in every receipt and record already synced: it stays.
            del self.code

    def validate_answer_days(self, field):
        if (
            self.accept_days.data is not None
            and field.data is not None
            and field.data < self.accept_days.data
        ):
            raise ValidationError("办结时限不能短于受理时限。")


class DepartmentForm(FlaskForm):
    # City staff only (the view removes it for a township's staff, whose departments are their own).
    township_id = ChoiceField("所属", choices=[], default="")
    name = StringField(
        "部门名称",
        filters=[_strip],
        validators=[DataRequired("请填写部门名称。"), Length(max=60, message="名称最多 60 个字。")],
    )
    contact_person = StringField(
        "联系人",
        filters=[_blank_to_none],
        validators=[Optional(), Length(max=40, message="联系人最多 40 个字。")],
    )
    # The assignment slip (交办单) prints it: a department nobody can call is no use.
    contact_phone = StringField(
        "联系电话",
        filters=[_blank_to_none],
        validators=[DataRequired("请填写部门的联系电话（交办单上要印）。"), Length(max=40, message="电话最多 40 个字符。")],
    )


class StationEditForm(FlaskForm):
    name = StringField(
        "名称",
        filters=[_strip],
        validators=[DataRequired("请填写联络站名称。"), Length(max=80, message="名称最多 80 个字。")],
    )
    level = ChoiceField("级别", choices=LEVELS, validators=[InputRequired("请选择级别。")])
    address = StringField(
        "地址",
        filters=[_blank_to_none],
        validators=[Optional(), Length(max=120, message="地址最多 120 个字。")],
    )


class StationForm(StationEditForm):
    code = StringField(
        "站点代码",
        filters=[lambda v: _strip(v).upper() if isinstance(v, str) else v],
        description="2 到 8 位大写字母或数字，如 LC07；印在每张回执上，建好后不能改",
        validators=[
            DataRequired("请填写站点代码。"),
            _whole_station_code,
        ],
    )
    township_id = ChoiceField("所属镇街", coerce=int, validators=[InputRequired("请选择镇街。")])

    def __init__(self, *args, townships=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.township_id.choices = [SelectChoice(t.id, t.name) for t in townships]

    field_order = ("code", "name", "level", "township_id", "address")


class RevokeForm(FlaskForm):
    reason = StringField(
        "原因",
        filters=[_strip],
        validators=[DataRequired("请写明吊销的原因。"), Length(max=200, message="原因最多 200 个字。")],
    )
    confirm = BooleanField("我确认吊销这台机器的密钥", validators=[DataRequired("请勾选确认。")])


class PasswordForm(FlaskForm):
    password = PasswordField(
        "密码",
        description=f"至少 {MIN_PASSWORD_LENGTH} 个字符",
        validators=[
            DataRequired("请填写密码。"),
            Length(min=MIN_PASSWORD_LENGTH, message=f"密码至少 {MIN_PASSWORD_LENGTH} 个字符。"),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    password_again = PasswordField(
        "再输一次密码",
        validators=[DataRequired("请再输一次密码。"), EqualTo("password", "两次输入的密码不一样。")],
        render_kw={"autocomplete": "new-password"},
    )


class UserForm(PasswordForm):
    username = StringField(
        "登录名",
        filters=[_strip],
        description="2 到 40 个英文字母、数字或 . _ -，以字母或数字开头",
        validators=[DataRequired("请填写登录名。")],
    )
    display_name = StringField(
        "姓名",
        filters=[_blank_to_none],
        validators=[Optional(), Length(max=40, message="姓名最多 40 个字。")],
    )
    role = ChoiceField("角色", choices=ROLES, validators=[InputRequired("请选择角色。")])
    township_id = ChoiceField("镇街", coerce=int, description="市人大常委会的账号不选")

    def __init__(self, *args, townships=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.township_id.choices = [SelectChoice(0, "（不属于镇街）")] + [
            SelectChoice(t.id, t.name) for t in townships
        ]

    # On the page: who first, then the password.
    field_order = ("username", "display_name", "role", "township_id", "password", "password_again")

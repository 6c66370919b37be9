"""Forms of the roster pages: plain fields, Chinese messages.

The deputy's choices are the station's deputies, set by the view.
"""

from flask_wtf import FlaskForm
from wtforms import DateField, StringField, TimeField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from ..setup.forms import ChoiceField, WholeNumber
from .services import MONTHS_MAX, NOTE_MAX

BAD_TIME = "请按“时:分”填写时间，如 09:00。"


def _blank_to_none(value):
    value = value.strip() if isinstance(value, str) else value
    return value or None


class Day(DateField):
    """A date field for which an empty box is no date (InputRequired says so), not a badly written one."""

    def process_formdata(self, valuelist):
        if valuelist and not "".join(valuelist).strip():
            self.data = None
            return
        super().process_formdata(valuelist)


class EmptyForm(FlaskForm):
    """Nothing but the CSRF token: for the remove buttons."""


class _TimesAndNote(FlaskForm):
    starts = TimeField("开始时间", validators=[Optional()], invalid_value_message=BAD_TIME)
    ends = TimeField("结束时间", validators=[Optional()], invalid_value_message=BAD_TIME)
    note = StringField(
        "备注（会在联络站屏幕上显示）",
        filters=[_blank_to_none],
        validators=[Optional(), Length(max=NOTE_MAX, message=f"备注最多 {NOTE_MAX} 个字。")],
    )


class ShiftForm(_TimesAndNote):
    deputy = ChoiceField("代表", coerce=int, validators=[InputRequired("请选择代表。")])
    on = Day(
        "日期",
        validators=[InputRequired("请选择日期。")],
        invalid_value_message="请按“年-月-日”填写日期，如 2026-12-15。",
    )
    field_order = ("deputy", "on", "starts", "ends", "note")


class RepeatForm(_TimesAndNote):
    deputy = ChoiceField("代表", coerce=int, validators=[InputRequired("请选择代表。")])
    day = WholeNumber(
        "每月几号",
        validators=[InputRequired("请填每月几号。"), NumberRange(1, 31, "每月几号请填 1 到 31。")],
        description="遇到节假日或周末，顺延到下一个工作日。",
    )
    months = WholeNumber(
        "连续几个月",
        default=MONTHS_MAX,
        validators=[
            InputRequired("请填连续几个月。"),
            NumberRange(1, MONTHS_MAX, f"连续几个月请填 1 到 {MONTHS_MAX}。"),
        ],
    )
    field_order = ("deputy", "day", "months", "starts", "ends", "note")

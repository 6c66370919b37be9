"""Forms of the staff queue and the opinion page: one small form per action.

Field checks here are about the shape of what was typed (required, length,
a real date); whether the action is allowed now is the services' decision
(``ActionRefused``), shown in the same place.
"""

import re

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, Optional, ValidationError

from ..models import Satisfaction
from ..parsing import in_range
from ..receipts.numbers import NUMBER, normalise_receipt_number
from ..text import clean_text

TEXT_MAX = 2000
SLIP_CONTACTS_LABEL = "在交办单上印出联系人姓名和电话"
DAY_RANGE_MESSAGE = "日期须在2000年至2099年之间。"
DATE_MESSAGE = "日期格式不对，请按 年-月-日 填写，例如 2026-03-02。"


def _clean(value):
    return clean_text(value) if isinstance(value, str) else value


def _text(label: str, required: bool = False, max_length: int = TEXT_MAX):
    checks = [Length(max=max_length, message=f"{label}不能超过{max_length}字。")]
    if required:
        checks.insert(0, DataRequired(f"请填写{label}。"))
    else:
        checks.insert(0, Optional())
    return TextAreaField(label, filters=[_clean], validators=checks)


def _date(label: str, required: bool = False):
    checks = [InputRequired(f"请填写{label}。")] if required else [Optional()]
    return DateField(label, validators=checks)


def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms' ``SelectChoice`` options."""
    return [SelectChoice(value, label) for value, label in pairs]


def choice_values(field) -> set[str]:
    """The values a select or radio field offers."""
    return {choice.value for choice in field.choices or ()}


def _choice(label: str, pairs: list[tuple[str, str]], message: str):
    """Radio buttons whose every refusal is ``message`` (WTForms' own is English)."""
    return RadioField(
        label,
        choices=choices(pairs),
        validate_choice=False,
        validators=[InputRequired(message), AnyOf([value for value, _ in pairs], message=message)],
    )


def _confirm(label: str):
    """The checkbox that confirms an action that cannot be undone.

    Checked by the view just before the service is called (after the
    action's other fields), so that every other mistake shows first.
    """
    return BooleanField(label)


class _DateMessages:
    """Give every date field a Chinese message for a date that does not parse."""

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        for field in self:
            if isinstance(field, DateField) and field.errors:
                field.errors = [DATE_MESSAGE if "valid date" in str(e) else e for e in field.errors]
        return ok


class ActionForm(_DateMessages, FlaskForm):
    pass


class AcceptForm(ActionForm):
    note = _text("备注")


class ForwardForm(ActionForm):
    department = SelectField("承办部门", coerce=str, validate_choice=False)
    due_on = _date("答复期限")
    instructions = _text("交办要求")
    # Off by default: the slip leaves the system; the link to print it comes ticked when this is.
    print_contacts = BooleanField(SLIP_CONTACTS_LABEL)

    def validate_department(self, field):
        if not field.data or field.data not in choice_values(field):
            raise ValidationError("请选择承办部门。")


class AssignmentForm(ActionForm):
    """An action on the opinion's current assignment (its id in a hidden field)."""

    assignment = HiddenField(validators=[DataRequired("找不到这次交办，请刷新页面。")])


class ReturnForm(AssignmentForm):
    reason = _text("退回理由", required=True)


class WithdrawForm(AssignmentForm):
    reason = _text("撤回原因", required=True)


class ExtensionRequestForm(AssignmentForm):
    until = _date("延期至", required=True)
    reason = _text("延期理由", required=True)


class ExtensionDecisionForm(AssignmentForm):
    """Two submit buttons, 同意延期 and 不同意, each sending its ``decision``."""

    decision = StringField(
        "审批",
        validators=[
            InputRequired("请选择同意或不同意。"),
            AnyOf(["approve", "refuse"], message="请选择同意或不同意。"),
        ],
    )


class RemindForm(AssignmentForm):
    note = _text("催办说明")


class ReplyForm(AssignmentForm):
    reply = _text("部门答复", required=True)


class CloseForm(ActionForm):
    public_reply = _text("答复群众的内容", required=True)
    confirm = _confirm("我已核对答复内容，确认办结并公开答复")


class DeclineForm(ActionForm):
    public_reason = _text("不予受理的理由", required=True)
    confirm = _confirm("我已核对，确认不予受理并公开理由")


class MergeForm(ActionForm):
    original = StringField("原意见的回执编号", filters=[normalise_receipt_number])
    confirm = _confirm("我已核对两条意见，确认合并（本条以后随原意见办理）")

    def validate_original(self, field):
        if not field.data:
            raise ValidationError("请填写原意见的回执编号。")
        if not NUMBER.fullmatch(field.data):
            raise ValidationError("回执编号的格式是 联络站代码-年月日-序号，例如 LC00-260302-0001。")


class KeySupervisionForm(ActionForm):
    on = HiddenField()


class TopicForm(ActionForm):
    """Choose a topic, take the opinion out of one, or start a new one."""

    topic = SelectField("专题", coerce=str, validate_choice=False)
    new_title = StringField("新专题名称", filters=[_clean], validators=[Length(max=80, message="专题名称不能超过80字。")])

    def validate_topic(self, field):
        if field.data not in choice_values(field):
            raise ValidationError("请选择专题。")
        if field.data == "new" and not self.new_title.data:
            raise ValidationError("请填写新专题的名称。")


class ReplaceReceiptForm(ActionForm):
    confirm = _confirm("我已核实来人身份，确认作废原回执、生成新验证码")


class RatingForm(ActionForm):
    value = _choice("回访结果", [(s.value, s.label) for s in Satisfaction], "请选择满意、基本满意或不满意。")
    comment = _text("群众意见")


class BulkForm(ActionForm):
    """Bulk actions on the ticked queue rows (``uuid`` values read from the request)."""

    action = _choice("操作", [("accept", "受理"), ("forward", "转办")], "请选择受理或转办。")
    department = SelectField("承办部门", coerce=str, validate_choice=False)
    due_on = _date("答复期限")

    def validate_department(self, field):
        if self.action.data != "forward":
            return
        if not field.data or field.data not in choice_values(field):
            raise ValidationError("转办请选择承办部门。")


class FindReceiptForm(_DateMessages, FlaskForm):
    """找回执: at least one of station, date, category or phone (POSTed, so the phone stays out of URLs)."""

    station = SelectField("联络站", coerce=str, validate_choice=False)
    day = _date("提交日期")
    category = SelectField("类别", coerce=str, validate_choice=False)
    phone = StringField("联系电话", filters=[lambda v: re.sub(r"\D", "", v or "")])

    def validate_day(self, field):
        if field.data and not in_range(field.data):
            raise ValidationError(DAY_RANGE_MESSAGE)

    def validate_phone(self, field):
        if field.data and not 4 <= len(field.data) <= 20:
            raise ValidationError("电话号码请至少填后4位数字（最多20位）。")

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        if ok and not (self.station.data or self.day.data or self.category.data or self.phone.data):
            self.form_errors.append("请至少填写一项：联络站、提交日期、类别或联系电话。")
            return False
        return ok


class TranscriptForm(FlaskForm):
    """转写 of a voice message: what staff heard, in words (may be emptied again)."""

    transcript = TextAreaField("转写", render_kw={"rows": 5})

"""Forms of the deputies' work pages: plain fields, Chinese messages.

Choices (stations, deputies, groups, opinions) are set by the view; the
rules (dates not ahead, votes not more than those present) are the
services'.
"""

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from ..models import EvaluationKind, Satisfaction, TrackingKind
from ..roster.forms import Day
from ..setup.forms import ChoiceField, WholeNumber, _blank_to_none, _SaysItInChinese

BAD_DATE = "请按“年-月-日”填写日期，如 2026-12-15。"


class Checkboxes(_SaysItInChinese, SelectMultipleField):
    """Several choices, each a checkbox."""

    refusal = "请从列表中选择。"
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _day(label: str, required: bool = True) -> Day:
    checks = [InputRequired(f"请填写{label}。")] if required else [Optional()]
    return Day(label, validators=checks, invalid_value_message=BAD_DATE)


def _number(label: str) -> WholeNumber:
    return WholeNumber(label, validators=[InputRequired(f"请填写{label}。")])


class ActivityForm(FlaskForm):
    station = ChoiceField("联络站", validators=[InputRequired("请选择联络站。")])
    held_on = _day("活动日期")
    people = _number("参加群众人数")
    topics = TextAreaField("交流的主要事项", filters=[_blank_to_none], description="会在代表履职档案上公开：不写群众姓名、电话。")
    deputies = Checkboxes("到场代表", coerce=int)
    field_order = ("station", "held_on", "people", "topics", "deputies")


class LinkOpinionsForm(FlaskForm):
    opinions = Checkboxes("本站当天收到的意见", coerce=str)


class _Votes(FlaskForm):
    satisfied = _number("满意")
    basic = _number("基本满意")
    unsatisfied = _number("不满意")


class ReportBackForm(_Votes):
    deputy = ChoiceField("代表", coerce=int, validators=[InputRequired("请选择代表。")])
    held_on = _day("述职日期")
    place = StringField("述职地点", filters=[_blank_to_none])
    voters_present = _number("到会选民人数")
    summary = TextAreaField("述职情况简述", filters=[_blank_to_none], description="会在代表履职档案上公开。")
    field_order = ("deputy", "held_on", "place", "voters_present", "satisfied", "basic", "unsatisfied", "summary")


class GroupForm(FlaskForm):
    name = StringField("小组名称", filters=[_blank_to_none], description="如：农业农村小组、城建环保小组")
    members = Checkboxes("组员", coerce=int)
    field_order = ("name", "members")


class TopicForm(FlaskForm):
    title = StringField("专题名称", filters=[_blank_to_none])
    year = _number("年度")
    commitment = TextAreaField("政府工作报告中的承诺", filters=[_blank_to_none])
    department = StringField("责任部门", filters=[_blank_to_none])
    group = ChoiceField("专业小组", coerce=str, validate_choice=False)
    field_order = ("title", "year", "commitment", "department", "group")


class TopicGroupForm(FlaskForm):
    group = ChoiceField("专业小组", coerce=str, validate_choice=False)


class TrackingForm(FlaskForm):
    held_on = _day("日期")
    kind = ChoiceField("跟踪方式", choices=[SelectChoice(k.value, k.label) for k in TrackingKind])
    who = StringField("参加人员", filters=[_blank_to_none])
    findings = TextAreaField("发现的情况", filters=[_blank_to_none])
    field_order = ("held_on", "kind", "who", "findings")


class TopicEvaluationForm(_Votes):
    held_on = _day("测评日期")
    outcome = TextAreaField("测评结果", filters=[_blank_to_none], description="会在代表履职档案上公开。")
    field_order = ("held_on", "satisfied", "basic", "unsatisfied", "outcome")


class EvaluationForm(_Votes):
    kind = ChoiceField("测评类别", choices=[SelectChoice(k.value, k.label) for k in EvaluationKind])
    subject = StringField("测评对象", filters=[_blank_to_none], description="专项工作的名称，或被评议的政府负责人及职务")
    meeting = StringField("会议", filters=[_blank_to_none], description="如：镇第十七届人大第四次会议")
    held_on = _day("测评日期")
    result = ChoiceField("测评结果", choices=[SelectChoice(s.value, s.label) for s in Satisfaction])
    rectification = TextAreaField("整改要求（可不填）", filters=[_blank_to_none])
    rectification_due = _day("整改期限（可不填）", required=False)
    field_order = (
        "kind", "subject", "meeting", "held_on", "satisfied", "basic", "unsatisfied", "result", "rectification",
        "rectification_due",
    )  # fmt: skip


class FollowUpForm(FlaskForm):
    held_on = _day("跟踪日期")
    note = TextAreaField("跟踪情况", filters=[_blank_to_none])
    done = BooleanField("整改已完成")
    field_order = ("held_on", "note", "done")

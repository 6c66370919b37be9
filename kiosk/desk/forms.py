"""The desk's forms: activation, answers, notes, 一键通, ratings, the diary."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from ..models import Satisfaction
from ..staff.forms import _choice, _date, _DateMessages, _text
from ..text import clean_text
from . import services


def _line(value):
    return clean_text(value).strip() if isinstance(value, str) else value


class ActivateForm(FlaskForm):
    username = StringField(
        "用户名",
        filters=[_line],
        validators=[DataRequired("请输入激活单上的用户名。"), Length(max=40, message="用户名最多 40 个字符。")],
        render_kw={"maxlength": 40, "autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"},
    )
    code = StringField(
        "激活码",
        validators=[DataRequired("请输入激活单上的激活码。"), Length(max=20, message="激活码不对。")],
        render_kw={"maxlength": 20, "autocomplete": "one-time-code", "autocapitalize": "characters", "spellcheck": "false"},
    )
    password = PasswordField(
        "设置密码",
        description="至少 10 个字符，以后用它登录。",
        validators=[DataRequired("请设置密码。"), Length(max=200, message="密码太长了。")],
        render_kw={"maxlength": 200, "autocomplete": "new-password"},
    )
    password_again = PasswordField(
        "再输入一次密码",
        validators=[DataRequired("请再输入一次密码。"), EqualTo("password", "两次输入的密码不一致。")],
        render_kw={"maxlength": 200, "autocomplete": "new-password"},
    )


class AnswerForm(FlaskForm):
    text = _text("答复", required=True, max_length=services.TEXT_MAX)


class NoteForm(FlaskForm):
    text = _text("提请说明", required=True, max_length=services.NOTE_MAX)


class SuggestionForm(FlaskForm):
    category = SelectField("类别", validate_choice=False, validators=[DataRequired("请选择类别。")])
    title = StringField(
        "标题",
        filters=[_line],
        validators=[
            DataRequired("请填写标题。"),
            Length(max=services.TITLE_MAX, message=f"标题不能超过{services.TITLE_MAX}字。"),
        ],
        render_kw={"maxlength": services.TITLE_MAX},
    )
    content = _text("内容", required=True, max_length=services.TEXT_MAX)
    attachment = FileField("附件（可不填）", description="一张图片或一个 PDF 文件，最大 10 MB。")


class RateForm(FlaskForm):
    value = _choice("满意度", [(s.value, s.label) for s in Satisfaction], "请选择满意、基本满意或不满意。")
    comment = _text("评价意见", max_length=500)


class DiaryForm(_DateMessages, FlaskForm):
    day = _date("日期", required=True)
    text = _text("做了什么", required=True, max_length=services.DIARY_MAX)
    publish = BooleanField("公开这篇日记（写入履职档案，所有人可见）", validators=[Optional()])


class ButtonForm(FlaskForm):
    """Nothing but the CSRF token: publish, withdraw, sign out."""

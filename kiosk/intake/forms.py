"""Forms for each step of leaving an opinion. Messages are for villagers."""

import re
import unicodedata

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, Optional, ValidationError

from ..models import CONTENT_MAX
from ..receipts.numbers import normalise_receipt_number, normalise_secret
from ..text import clean_text
from .services import CONTENT_MIN

# ASCII digits only: Python's \d also matches ٨ or ８, which no phone can dial.
MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
# Besides letters of any script: the 间隔号 in 阿卜杜拉·买买提 and its
# look-alikes, spaces, and the hyphen and apostrophe of Latin names.
NAME_PUNCTUATION = set(" ·•・‧.-'")


def is_name(text: str) -> bool:
    """Letters (汉字 or any other script) with the few marks names carry."""
    return any(unicodedata.category(c).startswith("L") for c in text) and all(
        unicodedata.category(c)[0] in "LM" or c in NAME_PUNCTUATION for c in text
    )


class CategoryForm(FlaskForm):
    category = HiddenField(validators=[DataRequired("请选择一类意见。")])


class ContentForm(FlaskForm):
    content = TextAreaField(filters=[clean_text])
    # With a recording kept (说话留言) the text may be short or empty.
    spoken = False

    def validate_content(self, field):
        length = len(field.data or "")
        if length < CONTENT_MIN and not self.spoken:
            raise ValidationError(f"请至少写 {CONTENT_MIN} 个字，把事情说清楚。")
        if length > CONTENT_MAX:
            raise ValidationError(f"内容太长了：最多 {CONTENT_MAX} 个字，现在有 {length} 个字。请删减一些。")


class ContactForm(FlaskForm):
    """Anonymous unless the person ticks consent and gives name and phone."""

    consent = BooleanField()
    name = StringField(filters=[clean_text])
    phone = StringField(filters=[lambda v: re.sub(r"[\s-]", "", v or "")])

    def validate_name(self, field):
        if self.consent.data:
            if not field.data:
                raise ValidationError("请填写您的姓名，或选择“不留联系方式”。")
            if len(field.data) > 20:
                raise ValidationError("姓名太长了，最多 20 个字。")
            if not is_name(field.data):
                raise ValidationError("姓名只能写汉字或字母，请检查。")

    def validate_phone(self, field):
        if self.consent.data and not MOBILE.match(field.data or ""):
            raise ValidationError("手机号码应为 11 位数字，以 1 开头，请检查。")


class DeputyForm(FlaskForm):
    deputy_id = IntegerField(validators=[Optional()])


class LookupForm(FlaskForm):
    number = StringField(filters=[normalise_receipt_number], validators=[DataRequired("请输入回执编号。")])
    secret = StringField(filters=[normalise_secret], validators=[DataRequired("请输入验证码。")])

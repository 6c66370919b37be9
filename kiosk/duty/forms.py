"""Forms of deputy mode at the kiosk. Messages are for deputies at the screen."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, SelectMultipleField, StringField, TextAreaField, ValidationError
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp

from ..text import clean_text, personal_data_in


class CheckinForm(FlaskForm):
    pin = PasswordField(
        "值班密码", validators=[DataRequired("请输入值班密码。")],
        render_kw={"autocomplete": "off", "inputmode": "none", "maxlength": 6},
    )  # fmt: skip


class ReceptionForm(FlaskForm):
    """接待登记 in short: how many, what about, which receipts. Nothing personal is asked."""

    # Text, not IntegerField: its refusal of "abc" would be in English.
    people = StringField(
        "接待人数", filters=[lambda v: (v or "").strip()],
        validators=[InputRequired("请填写接待了几位群众。"), Regexp(r"^[0-9]{1,3}$", message="人数应在 1 到 999 之间。")],
    )  # fmt: skip
    about = TextAreaField(
        "反映的事项（简要）", filters=[lambda v: clean_text(v or "").strip() or None],
        validators=[Optional(), Length(max=500, message="最多 500 字。")],
    )  # fmt: skip
    receipts = StringField(
        "相关回执编号（可不填）", filters=[lambda v: (v or "").strip()],
        validators=[Optional(), Length(max=400, message="回执编号最多 400 个字符。")],
    )

    def validate_people(self, field):
        # After the pattern: only digits reach int(), and 0 is refused here.
        if not field.errors and not 1 <= int(field.data) <= 999:
            raise ValidationError("人数应在 1 到 999 之间。")


class ReprintForm(FlaskForm):
    number = HiddenField(validators=[DataRequired()])


class ActivityForm(FlaskForm):
    """联系群众活动 held here today: how many came, what was discussed, which deputies were there."""

    people = StringField(
        "参加的群众人数", filters=[lambda v: (v or "").strip()],
        validators=[InputRequired("请填写有几位群众参加。"), Regexp(r"^[0-9]{1,4}$", message="人数应在 1 到 9999 之间。")],
    )  # fmt: skip
    topics = TextAreaField(
        "交流的主要事项", filters=[lambda v: clean_text(v or "").strip() or None],
        validators=[DataRequired("请简要写下交流了什么。"), Length(max=500, message="最多 500 字。")],
    )  # fmt: skip
    # The other deputies of this station who were there (ids); the one on duty always is.
    others = SelectMultipleField("一起参加的代表", coerce=int, validate_choice=False)

    def validate_people(self, field):
        if not field.errors and not 1 <= int(field.data) <= 9999:
            raise ValidationError("人数应在 1 到 9999 之间。")

    def validate_topics(self, field):
        # Shown on the deputies' public files: no one's phone or ID-card number.
        if found := personal_data_in(field.data):
            raise ValidationError(f"交流事项会公开，请删去其中的{found}。")

"""The phone page's form: the kiosk's rules and messages for text, name and phone."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.validators import ValidationError

from ..extensions import db
from ..intake.forms import ContactForm, ContentForm
from ..models import Category
from .services import UUID_SHAPE


class PhoneOpinionForm(ContentForm, ContactForm):
    """Category, text, and anonymous or name and phone with consent.

    ``consent`` is one of two radio buttons: 不留联系方式 sends it empty
    (false), 留下姓名和电话 sends it set; name and phone are checked only then.
    """

    category = StringField()
    # Made when the page is shown; the opinion's UUID, so a second tap saves nothing more.
    submission = HiddenField()

    def validate_category(self, field):
        chosen = db.session.get(Category, field.data) if field.data and len(field.data) <= 24 else None
        if chosen is None or not chosen.active:
            raise ValidationError("请选择一类意见。")
        self.chosen_category = chosen

    def validate_submission(self, field):
        if not UUID_SHAPE.fullmatch(field.data or ""):
            raise ValidationError("页面已过期，请再点一次“提交”。")


class EmptyForm(FlaskForm):
    """A button-only POST (print the ticked posters): its CSRF token and nothing more."""

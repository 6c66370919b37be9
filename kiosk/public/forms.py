"""The rating form (满意度测评), on the status page and at the kiosk look-up."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length

from ..models import Satisfaction
from ..text import clean_text
from ..receipts.numbers import normalise_receipt_number, normalise_secret
from .rating import COMMENT_MAX

CHOICES = [(s.value, s.label) for s in Satisfaction]


class RatingForm(FlaskForm):
    """Three big buttons named ``value`` and an optional comment.

    The receipt's 验证码 travels in a hidden field: the page was opened with
    it, and the rating needs the same proof as the page.
    """

    value = StringField(
        validators=[
            DataRequired("请点选满意、基本满意或不满意。"),
            AnyOf([v for v, _ in CHOICES], message="请点选满意、基本满意或不满意。"),
        ]
    )
    comment = TextAreaField(
        filters=[clean_text], validators=[Length(max=COMMENT_MAX, message=f"意见最多 {COMMENT_MAX} 个字，请删减一些。")]
    )
    secret = HiddenField(filters=[normalise_secret])


class KioskRatingForm(RatingForm):
    """At the kiosk the receipt number travels too: the look-up keeps no state."""

    number = HiddenField(filters=[normalise_receipt_number])

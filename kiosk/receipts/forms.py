"""Forms of the receipts area."""

from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import DataRequired


class ReprintForm(FlaskForm):
    """The one-button form that asks for a receipt to be printed again."""

    # The 验证码: the number in the URL says which receipt, this proves it.
    secret = HiddenField(validators=[DataRequired()])

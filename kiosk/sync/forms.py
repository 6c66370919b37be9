"""Forms of the station's sync admin screen."""

from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import DataRequired


class PinForm(FlaskForm):
    pin = PasswordField("管理密码", validators=[DataRequired("请输入管理密码。")], render_kw={"autocomplete": "off", "inputmode": "numeric"})


class EmptyForm(FlaskForm):
    """Nothing but the CSRF token: for button-only POSTs."""

"""The sign-in form and the sign-out button."""

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    username = StringField(
        "用户名",
        validators=[DataRequired("请输入用户名。"), Length(max=40, message="用户名最多 40 个字符。")],
        render_kw={
            "maxlength": 40,
            "autocomplete": "username",
            "autocapitalize": "none",
            "spellcheck": "false",
            "autofocus": True,
        },
    )
    password = PasswordField(
        "密码",
        validators=[DataRequired("请输入密码。"), Length(max=200, message="密码太长了。")],
        render_kw={"maxlength": 200, "autocomplete": "current-password"},
    )


class LogoutForm(FlaskForm):
    """Nothing but the CSRF token."""

"""Error pages: plain Chinese, never a stack trace."""

from flask import Flask, make_response, render_template
from flask_wtf.csrf import CSRFError

from . import htmx
from .auth.navigation import is_staff_page
from .edge import UnreadableText
from .public.lookup import TooManyGuesses

MESSAGES = {
    400: "请求有误，请返回首页重新开始。",
    403: "您没有权限打开这个页面。",
    404: "没有找到这个页面。",
    405: "请求有误，请返回首页重新开始。",
    413: "提交的内容太长了。",
    429: "操作太频繁，请稍候再试。",
    500: "系统出了点问题，您的意见如已提交不会丢失。请稍候再试或联系工作人员。",
}


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return _page(400, "页面已过期，请返回首页重新开始。")

    @app.errorhandler(UnreadableText)
    def unreadable_text(error):
        # Answered as a form's mistake is (200): nothing was taken, and the page says why.
        response = _page(400, error.description)
        response.status_code = 200
        return response

    @app.errorhandler(TooManyGuesses)
    def too_many_guesses(error):
        return _page(429, "验证码输错的次数太多了。为保护回执主人的信息，请 10 分钟后再试。")

    for status, message in MESSAGES.items():
        app.register_error_handler(status, _handler(status, message))


def _handler(status: int, message: str):
    def handle(error):
        return _page(status, message)

    return handle


def _page(status: int, message: str):
    # Staff pages keep the staff layout (menu, sign-out) around the message.
    # Not for 500: the staff layout asks the database who is signed in.
    # The template is the screen fragment alone for htmx (see error.html).
    template = "auth/error.html" if status != 500 and is_staff_page() else "error.html"
    return htmx.vary(make_response(render_template(template, status=status, message=message), status))

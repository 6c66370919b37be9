"""Forms of the deputy directory's staff pages."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, MultipleFileField
from wtforms import BooleanField, DateField, PasswordField, StringField, ValidationError
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp

from ..models import LEVELS, SEXES
from ..setup.forms import ChoiceField, _blank_to_none, _strip


class DeputyForm(FlaskForm):
    name = StringField("姓名", filters=[_strip], validators=[DataRequired("请填写姓名。"), Length(max=40, message="姓名最多 40 个字。")])
    sex = ChoiceField("性别", choices=[SelectChoice("", "（不填）"), *(SelectChoice(s) for s in SEXES)], validators=[Optional()])
    township_id = ChoiceField("镇街", coerce=int)
    level = ChoiceField("层级", choices=[SelectChoice(level, f"{level}人大代表") for level in LEVELS])
    occupation = StringField("职业", filters=[_blank_to_none], validators=[Optional(), Length(max=60, message="职业最多 60 个字。")])
    mobile = StringField(
        "手机（仅工作人员可见）", filters=[_blank_to_none],
        validators=[Optional(), Length(max=20, message="手机号最多 20 个字符。")],
        description="不会发到联络站；导入名册时按手机号找到同一位代表。",
    )  # fmt: skip
    public_phone = StringField(
        "公开电话", filters=[_blank_to_none], validators=[Optional(), Length(max=20, message="电话最多 20 个字符。")],
        description="显示在联络站屏幕上，可以不填。",
    )  # fmt: skip
    stations = StringField(
        "联络站", filters=[_strip], validators=[Optional(), Length(max=400, message="联络站最多 400 个字。")],
        description="联络站编号或名称，几个之间用“、”隔开，如 LJ00、LJ03。",
    )  # fmt: skip
    term_start = DateField("任期开始", validators=[Optional()])
    term_end = DateField("任期结束", validators=[Optional()])
    photo = FileField("照片", description="JPEG 或 PNG；保存时缩到 600 像素以内，并去掉拍摄信息。")
    remove_photo = BooleanField("去掉现有照片")
    retired = BooleanField("已离任（保留记录，联络站不再显示）")

    field_order = (
        "name", "sex", "township_id", "level", "occupation", "mobile", "public_phone", "stations",
        "term_start", "term_end", "photo", "remove_photo", "retired",
    )  # fmt: skip


class ImportForm(FlaskForm):
    file = FileField("名册文件", description="CSV（UTF-8 或 GB18030）或 XLSX，第一行为表头：姓名、性别、镇街、层级、职业、手机、公开电话、联络站、任期开始、任期结束。")
    photos = MultipleFileField("照片（可多选）", description="文件名为姓名，重名时为“姓名-手机后四位”，如 陈伟-1234.jpg。")

    def validate_file(self, field):
        if not field.data or not getattr(field.data, "filename", ""):
            raise ValidationError("请选择名册文件。")


class PinForm(FlaskForm):
    """A deputy's duty PIN, typed twice by staff."""

    pin = PasswordField("值班密码", validators=[Regexp(r"^\d{4,6}$", message="值班密码应为 4 到 6 位数字。")])
    pin_again = PasswordField("再输入一次", validators=[EqualTo("pin", message="两次输入的值班密码不一致。")])

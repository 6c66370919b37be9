"""Finding an opinion from what is printed on its receipt."""

import secrets

from sqlalchemy import select

from ..extensions import db
from ..models import Opinion


def normalise_receipt_number(number: str | None) -> str:
    return (number or "").strip().upper()


def find_receipt(number: str | None, secret: str | None) -> Opinion | None:
    """The opinion behind a receipt, only when its secret (验证码) matches.

    The number alone says which receipt; the secret proves the holder has
    it, so nobody can walk through other people's receipts by counting.
    """
    number, secret = normalise_receipt_number(number), (secret or "").strip().upper()
    if not number or not secret:
        return None
    opinion = db.session.execute(select(Opinion).where(Opinion.receipt_number == number)).scalar_one_or_none()
    if opinion is None or not secrets.compare_digest(opinion.secret.encode(), secret.encode()):
        return None
    return opinion

"""What an action at the hub could change, read back from the database, so a
test can say a refused action changed nothing (in an app context)."""

from sqlalchemy import func, select

from kiosk.extensions import db
from kiosk.models import Assignment, Opinion


def opinion_state(uuid: str) -> dict:
    """An opinion's columns, and its assignments' columns under "assignments",
    as the database holds them now."""
    db.session.expire_all()
    opinion = db.session.get(Opinion, uuid)
    assignments = select(Assignment).where(Assignment.opinion_uuid == uuid).order_by(Assignment.id)
    return {
        **{c.key: getattr(opinion, c.key) for c in Opinion.__table__.columns},
        "assignments": [
            {c.key: getattr(a, c.key) for c in Assignment.__table__.columns}
            for a in db.session.scalars(assignments)
        ],
    }


def row_counts(*models) -> dict:
    """The rows of each model's table, by the model's name."""
    return {model.__name__: db.session.scalar(select(func.count()).select_from(model)) for model in models}

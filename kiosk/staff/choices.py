"""What the staff pages' selects offer: stations, categories, departments and topics.

Shared by the queue's filters, 找回执, bulk 转办 and the opinion page's
action forms, so that each list is read and ordered the same way everywhere.
"""

from sqlalchemy import select

from ..extensions import db
from ..models import Category, Department, Deputy, Station, Topic, Township, User
from . import forms


def stations(user: User) -> list[Station]:
    """The stations ``user`` may see, by township and code."""
    query = select(Station).order_by(Station.township_id, Station.code)
    if not user.is_city:
        query = query.where(Station.township_id == user.township_id)
    return list(db.session.scalars(query))


def deputies(user: User, township_id: int | None = None) -> list[tuple[int, str]]:
    """(id, name) of the deputies whose opinions ``user`` may filter by: their township's.

    City staff get the chosen township's, or every township's with its name after each.
    """
    township_id = township_id if user.is_city else user.township_id
    query = select(Deputy.id, Deputy.name, Township.name).join(Township, Township.id == Deputy.township_id)
    if township_id is not None:
        query = query.where(Deputy.township_id == township_id)
    rows = db.session.execute(query.order_by(Deputy.township_id, Deputy.id)).all()
    if township_id is not None:
        return [(deputy_id, name) for deputy_id, name, _township in rows]
    return [(deputy_id, f"{name}（{township}）") for deputy_id, name, township in rows]


def categories() -> list[Category]:
    return list(db.session.scalars(select(Category).order_by(Category.position, Category.code)))


def departments(township_id: int | None) -> list[Department]:
    """The active departments an opinion of ``township_id`` may go to: the township's own first, then the city's.

    Each group in the order added, as the set-up page lists them.
    """
    query = select(Department).where(Department.active.is_(True))
    query = query.where(Department.township_id.is_(None) | (Department.township_id == township_id))
    return list(db.session.scalars(query.order_by(Department.township_id.is_(None), Department.id)))


def topics(user: User, township_id: int | None = None) -> list[Topic]:
    """Open topics of the township (or all the user may see) and the city-wide ones."""
    query = select(Topic).where(Topic.closed_at.is_(None)).order_by(Topic.created_at.desc())
    township_id = township_id if township_id is not None else (None if user.is_city else user.township_id)
    if township_id is not None:
        query = query.where((Topic.township_id == township_id) | Topic.township_id.is_(None))
    return list(db.session.scalars(query))


def department_choices(township_id: int | None):
    return forms.choices([("", "请选择承办部门")] + [(str(d.id), d.name) for d in departments(township_id)])


def topic_choices(user: User, township_id: int | None):
    """A topic to put an opinion in: none, an open one, or a new one."""
    return forms.choices([
        ("", "不归入专题"),
        *[(str(t.id), t.title + ("（全市）" if t.township_id is None else "")) for t in topics(user, township_id)],
        ("new", "新建专题……"),
    ])

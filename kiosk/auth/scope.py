"""Township scoping: what each staff member may see.

City staff see every township; chairs and township staff only their own.
Every page, fragment, export and API that shows opinions starts from
``opinions_for``; asking for another township's opinion is a 404 (the
opinion's existence is not confirmed) and an audit row. Who sees
constituents' contact details is decided here too (``may_see_contacts``).
"""

from functools import wraps

from flask import abort, current_app, has_request_context, request
from flask_login import current_user, login_required
from sqlalchemy import Select, select

from .. import audit
from ..extensions import db
from ..models import STAFF_ROLES, Opinion, Role, User


def visible_township_ids(user: User) -> set[int] | None:
    """The townships ``user`` may see; None means all of them.

    A deputy sees no township's queue: their desk (kiosk.desk) starts from
    the deputy, never from a township.
    """
    if user.role == Role.CITY:
        return None
    if user.role not in STAFF_ROLES:
        return set()
    return {user.township_id}


def can_see_township(user: User, township_id: int | None) -> bool:
    ids = visible_township_ids(user)
    return ids is None or township_id in ids


# The roles that see constituents' names and phone numbers: ``may_see_contacts``.
CONTACT_ROLES = frozenset({Role.TOWNSHIP, Role.CHAIR})


def may_see_contacts(user, opinion: Opinion | None = None) -> bool:
    """The contact-details policy: whether ``user`` sees the constituents' names and phone numbers.

    This is the one rule; every page, file or slip that could show contact
    details asks it.

    - Township staff and chairs: yes. They call people back (回访) about
      their own township's opinions, and scoping gives them nothing else.
    - City staff: no. They oversee figures across all townships and do no
      casework by phone; a city-wide file of names and phone numbers is the
      largest leak the system could make, and the Personal Information
      Protection Law asks for the minimum necessary.
    - A deputy: for ``opinion`` when it is addressed to them (they may call
      the constituent back), never for anything else, nor without an opinion.
    - Anyone else (not signed in, no staff role, an inactive account): no.
    """
    if user is None or getattr(user, "is_anonymous", False) or getattr(user, "active", None) is False:
        return False
    role = getattr(user, "role", None)
    if role == Role.DEPUTY:
        return opinion is not None and user.deputy_id is not None and opinion.deputy_id == user.deputy_id
    return role in CONTACT_ROLES


def opinions_for(user: User) -> Select:
    """``select(Opinion)`` limited to what ``user`` may see."""
    query = select(Opinion)
    ids = visible_township_ids(user)
    if ids is not None:
        query = query.where(Opinion.township_id.in_(ids))
    return query


def opinion_or_404(user: User, uuid: str) -> Opinion:
    """The opinion if ``user`` may see it; otherwise 404 and, if it exists, an audit row.

    For a POST (an action), the opinion's row stays locked until the action
    commits, so two clerks acting on it at once act one after the other, the
    second seeing the first's result (PostgreSQL; SQLite's transactions
    already take the write lock when they begin).
    """
    writing = has_request_context() and request.method == "POST"
    opinion = db.session.get(Opinion, uuid, with_for_update=writing, populate_existing=writing)
    if opinion is None:
        abort(404)
    if not can_see_township(user, opinion.township_id):
        record_denied(user, [opinion])
        abort(404)
    return opinion


def opinion_by_number(user: User, number: str) -> Opinion | None:
    """The opinion with this receipt number if ``user`` may see it, else None.

    Another township's is treated as not found, and noted with a "denied"
    audit row, as asking for it by its address would be.
    """
    opinion = db.session.scalar(select(Opinion).where(Opinion.receipt_number == number))
    if opinion is not None and not can_see_township(user, opinion.township_id):
        record_denied(user, [opinion])
        return None
    return opinion


def record_denied(user: User, opinions) -> None:
    """One "denied" audit row per opinion of another township that ``user`` asked for."""
    for opinion in opinions:
        audit.record("denied", actor=user, opinion=opinion, note=f"township {opinion.township_id}")
    db.session.commit()


def township_or_404(user: User, township_id: int) -> None:
    """404 (with an audit row) unless ``user`` may see ``township_id``."""
    if not can_see_township(user, township_id):
        audit.record("denied", actor=user, subject=f"township:{township_id}")
        db.session.commit()
        abort(404)


def staff_required(*roles: Role):
    """Views for signed-in staff of the hub; with ``roles``, only those roles (else 403).

    Without ``roles``, every staff role: a deputy's account opens none of
    the staff pages (their desk is kiosk.desk).
    """
    allowed = frozenset(roles) or STAFF_ROLES

    def decorate(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_app.config["ROLE"] != "hub":
                abort(404)
            if current_user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorate

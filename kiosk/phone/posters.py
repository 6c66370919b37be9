"""Posters for the wall: a deputy's or a station's QR code on an A5 page, and the address it holds.

The address is the hub's public one (``PUBLIC_BASE_URL``) and nothing
else: a poster stays on a wall for years, so one carrying a loopback or a
made-up address would send every phone nowhere. Without a public address
(``NoPublicAddress``) nothing is printed. The QR code is the same vector
code the receipts carry (``kiosk.receipts.qr``); the fonts the receipts'.
A poster shows only public fields: never a deputy's private mobile.
"""

import base64
import logging
from urllib.parse import urlsplit

from flask import current_app, render_template
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import Deputy, DeputyPhoto, Station, StationLevel, Township
from ..parsing import is_loopback
from ..receipts import pdf
from ..receipts.qr import qr_svg
from ..refusals import Refused
from .services import Target

log = logging.getLogger(__name__)


class NoPublicAddress(Refused):
    def __init__(self):
        super().__init__(
            "没有设置本机的公网地址（KIOSK_PUBLIC_BASE_URL），二维码会指向手机打不开的地址：请先设置再打印。"
        )


def public_base_url() -> str:
    """The hub's public address, for paper; ``NoPublicAddress`` when unset or this machine's own."""
    base = (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.hostname or is_loopback(parts.hostname):
        raise NoPublicAddress()
    return base


def _path(endpoint: str, **values) -> str:
    # Bound without a request: the command line has none, and the base is the public one.
    return current_app.url_map.bind("").build(endpoint, values)


def deputy_url(deputy: Deputy) -> str:
    """The address a deputy's QR code holds: ``<PUBLIC_BASE_URL>/d/<public_id>``."""
    return public_base_url() + _path("phone.deputy_page", public_id=deputy.public_id)


def station_url(station: Station) -> str:
    """The address a station's QR code holds: ``<PUBLIC_BASE_URL>/s/<code>``."""
    return public_base_url() + _path("phone.station_page", code=station.code)


def target_url(target: Target) -> str:
    return deputy_url(target.deputy) if target.deputy else station_url(target.station)


def township_targets(township_id: int) -> list[Target]:
    """A township's posters: each serving deputy's, then each station's with a box."""
    deputies = db.session.scalars(
        select(Deputy)
        .where(Deputy.township_id == township_id, Deputy.retired.is_(False))
        .options(selectinload(Deputy.stations))
        .order_by(Deputy.id)
    ).all()
    stations = db.session.scalars(
        select(Station)
        .where(Station.township_id == township_id, Station.level != StationLevel.ONLINE)
        .order_by(Station.code)
    ).all()
    township = db.session.get(Township, township_id)
    return [Target(township, deputy=d) for d in deputies] + [Target(township, station=s) for s in stations]


def posters_pdf(targets: list[Target]) -> bytes:
    """One A5 page per poster, in one PDF."""
    if not targets:
        raise Refused("没有可以印海报的代表或联络站。")
    base = public_base_url()
    htmls = [_poster_html(target, base) for target in targets]
    log.info("%d posters rendered", len(htmls))
    return pdf.render_documents(htmls)


def _poster_html(target: Target, base: str) -> str:
    url = target_url(target)
    photo = None
    if target.deputy and target.deputy.photo:
        stored = db.session.get(DeputyPhoto, target.deputy.photo)
        if stored is not None:
            photo = "data:image/jpeg;base64," + base64.b64encode(stored.data).decode("ascii")
    return render_template(
        "phone/poster.html",
        target=target,
        url=url,
        qr=qr_svg(url, **{"class": "qr"}),
        photo=photo,
        shown_url=url.removeprefix("https://").removeprefix("http://"),
    )

"""Deputies and their roster travel to the stations in the pull: public fields and photos
(each photo once), never the private mobile; a retired deputy vanishes from the station."""

import base64
import re
from datetime import time

import pytest
from sqlalchemy import func, select

from kiosk.clock import today
from kiosk.deputies import services
from kiosk.extensions import db
from kiosk.models import Deputy, DeputyPhoto, DutyShift, Station
from kiosk.roster import services as roster
from kiosk.sync import bundles, wire
from kiosk.sync import station as station_sync
from kiosk.sync.registry import reference_for
from tests.support.deputies import csv_bytes, portrait, row
from tests.support.factories import make_user
from tests.support.inprocess import sync

HOME = "LC00"
NEW_MOBILE = "13800001111"


class Answers:
    """The hub's pull answers as they crossed the link, decoded."""

    def __init__(self, transport):
        self.bodies: list[bytes] = []
        self.pulls: list[dict] = []
        transport.after = self.keep

    def keep(self, reply):
        raw = wire.decode(reply.body)
        self.bodies.append(wire.dumps(raw))
        if "reference" in raw:
            self.pulls.append(raw)


def home() -> Station:
    return db.session.get(Station, HOME)


def add_deputy_with_photo(tmp_path) -> int:
    """At the hub: a new deputy of LC00 with a private mobile, a public phone and a photo;
    every deputy of LC00 gets a private mobile too."""
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "欧阳春花.jpg").write_bytes(portrait(7))
    data = csv_bytes([row("欧阳春花", "罗城街道", level="罗定市", mobile=NEW_MOBILE, public_phone="0766-3812345", stations=HOME)])
    result = services.import_file(data, services.photo_files(folder))
    assert result.added == 1, result.lines()
    for n, deputy in enumerate(home().deputies):
        if deputy.mobile is None:
            deputy.mobile = f"139{n:08d}"
    db.session.commit()
    return db.session.scalar(select(Deputy.id).where(Deputy.mobile == NEW_MOBILE))


def private_mobiles() -> set[str]:
    return set(db.session.scalars(select(Deputy.mobile).where(Deputy.mobile.is_not(None))))


def test_deputies_and_today_s_duty_reach_the_kiosk_without_any_private_phone(station_app, hub_app, transport, tmp_path):
    answers = Answers(transport)
    with hub_app.app_context():
        deputy_id = add_deputy_with_photo(tmp_path)
        clerk = make_user()
        roster.add_shift(clerk, home(), deputy_id, today(), time(9), time(12), "接待群众")
        mobiles = private_mobiles()
        photo = db.session.get(Deputy, deputy_id).photo
        public_id = db.session.get(Deputy, deputy_id).public_id
        expected = sorted(d.id for d in home().deputies)
    assert sync(station_app, transport).ok
    with station_app.app_context():
        here = home()
        assert sorted(d.id for d in here.deputies) == expected
        deputy = db.session.get(Deputy, deputy_id)
        assert (deputy.name, deputy.level, deputy.public_phone, deputy.public_id, deputy.photo) == (
            "欧阳春花", "罗定市", "0766-3812345", public_id, photo,
        )  # fmt: skip
        assert db.session.scalar(select(func.count()).select_from(Deputy).where(Deputy.mobile.is_not(None))) == 0
        assert db.session.get(DeputyPhoto, photo) is not None
    client = station_app.test_client()
    page = client.get("/").get_data(as_text=True)
    duty = re.search(r'data-testid="on-duty"[^>]*>(.*?)</section>', page, re.DOTALL).group(1)
    assert "欧阳春花" in duty and "09:00–12:00" in duty
    assert client.get(f"/deputies/photos/{photo}.jpg").status_code == 200
    tile = client.get("/deputies").get_data(as_text=True)
    assert "欧阳春花" in tile and "0766-3812345" in tile
    # No private mobile in anything the hub sent, in any spelling.
    sent = b"".join(answers.bodies).decode()
    assert mobiles and not [m for m in mobiles if m in sent or f"{m[:3]}-{m[3:7]}-{m[7:]}" in sent]
    assert '"mobile"' not in sent


def test_a_photo_crosses_the_link_once_and_a_new_one_when_it_changes(station_app, hub_app, transport, tmp_path):
    answers = Answers(transport)
    with hub_app.app_context():
        deputy_id = add_deputy_with_photo(tmp_path)
        first_photo = db.session.get(Deputy, deputy_id).photo
    assert sync(station_app, transport).ok
    assert list(answers.pulls[-1]["reference"]["photos"]) == [first_photo]
    with hub_app.app_context():
        # Another change for the station: the photo it holds is not sent again.
        services.save_deputy(
            make_user(), db.session.get(Deputy, deputy_id), stations=[home()], **{
                **{f: getattr(db.session.get(Deputy, deputy_id), f) for f in services.FIELDS},
                "public_phone": "0766-3800000",
            },
        )  # fmt: skip
    assert sync(station_app, transport).ok
    assert answers.pulls[-1]["reference"]["photos"] == {}
    with hub_app.app_context():
        services.set_photo(make_user(), db.session.get(Deputy, deputy_id), portrait(8, kind="PNG"))
        second_photo = db.session.get(Deputy, deputy_id).photo
    assert sync(station_app, transport).ok
    assert list(answers.pulls[-1]["reference"]["photos"]) == [second_photo] != [first_photo]
    with station_app.app_context():
        deputy = db.session.get(Deputy, deputy_id)
        assert (deputy.photo, deputy.public_phone) == (second_photo, "0766-3800000")


def test_a_retired_deputy_vanishes_from_the_station_with_their_shifts(station_app, hub_app, transport):
    with hub_app.app_context():
        clerk = make_user()
        leaving = home().deputies[0]
        leaving_id, name = leaving.id, leaving.name
        roster.add_shift(clerk, home(), leaving_id, today())
    assert sync(station_app, transport).ok
    client = station_app.test_client()
    assert name in client.get("/").get_data(as_text=True)
    with hub_app.app_context():
        assert services.set_retired(make_user(), db.session.get(Deputy, leaving_id), True)
        assert leaving_id not in [d["id"] for d in reference_for(home())["deputies"]]
        # Kept at the hub, with their shift (history).
        assert db.session.get(Deputy, leaving_id).retired and home().deputies[0].id == leaving_id
    assert sync(station_app, transport).ok
    with station_app.app_context():
        assert leaving_id not in [d.id for d in home().deputies]
        assert db.session.scalar(select(func.count()).select_from(DutyShift).where(DutyShift.deputy_id == leaving_id)) == 0
    assert name not in client.get("/deputies").get_data(as_text=True)
    assert f'data-testid="deputy-{leaving_id}"' not in client.get("/").get_data(as_text=True)


def test_a_photo_that_does_not_match_its_digest_changes_nothing(station_app, hub_app, transport, tmp_path):
    with hub_app.app_context():
        add_deputy_with_photo(tmp_path)
        reference = reference_for(home())
    sha = next(iter(reference["photos"]))
    forged = {**reference, "photos": {sha: base64.b64encode(b"not the photo").decode()}}
    with station_app.app_context():
        cursor = station_sync.status().cursor
        with pytest.raises(station_sync.AnswerMalformed):
            station_sync.apply_pull_answer({"cursor": cursor + 5, "opinions": [], "reference": forged})
        assert station_sync.status().cursor == cursor
        assert db.session.get(DeputyPhoto, sha) is None


def test_by_usb_stick_the_photos_travel_once_too(station_app, hub_app, tmp_path):
    with hub_app.app_context():
        deputy_id = add_deputy_with_photo(tmp_path)
        photo = db.session.get(Deputy, deputy_id).photo
    runs = []
    for n in range(2):
        bundle, answer = tmp_path / f"{n}.bundle", tmp_path / f"{n}.answer"
        assert station_app.test_cli_runner().invoke(args=["sync", "export", str(bundle)]).exit_code == 0
        result = hub_app.test_cli_runner().invoke(args=["sync", "import", str(bundle), "--answer", str(answer)])
        assert result.exit_code == 0, result.output
        assert station_app.test_cli_runner().invoke(args=["sync", "import-answer", str(answer)]).exit_code == 0
        with station_app.app_context():
            runs.append(bundles._read(str(answer), "answer")[0]["pull"]["reference"])
        if n == 0:
            with hub_app.app_context():
                # A change for the station, so the second answer carries its reference data again.
                db.session.get(Deputy, deputy_id).public_phone = "0766-3800000"
                db.session.commit()
    assert list(runs[0]["photos"]) == [photo] and runs[1]["photos"] == {}
    with station_app.app_context():
        assert db.session.get(Deputy, deputy_id).public_phone == "0766-3800000"
        assert db.session.get(DeputyPhoto, photo) is not None

"""This station's deputies at the kiosk, by touch in both screen shapes: today's duty on the
home screen, the 本站代表 tile, and the deputies' photos in the opinion flow."""

from datetime import time, timedelta

import pytest
from playwright.sync_api import expect

from kiosk.clock import today
from kiosk.deputies import photos
from kiosk.extensions import db
from kiosk.models import DutyShift, Station
from tests.support.apps import make_app
from tests.support.deputies import portrait
from tests.support.servers import station_box
from tests.support.touch import QUICK_SETTLE_MS, screenshot, start, tap

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def deputies_box(tmp_path_factory, demo_database):
    """LC00 with photos for two of its deputies (the others have none), one on duty today
    from 09:00 to 12:00, and the same deputy's next duty in three days."""
    folder = tmp_path_factory.mktemp("deputies-box")
    server = station_box(folder, seed=demo_database, TAP_SETTLE_MS=QUICK_SETTLE_MS)
    app = make_app(folder)
    with app.app_context():
        station = db.session.get(Station, "LC00")
        first, second, third = station.deputies[:3]
        first.photo, second.photo = photos.keep(portrait(1)), photos.keep(portrait(2, kind="PNG"))
        first.public_phone = "0766-3812345"
        day = today()
        db.session.add(DutyShift(station_code="LC00", deputy_id=first.id, on=day, starts=time(9), ends=time(12)))
        db.session.add(DutyShift(station_code="LC00", deputy_id=first.id, on=day + timedelta(days=3)))
        db.session.commit()
        facts = {
            "first": (first.id, first.name), "second": (second.id, second.name), "third": (third.id, third.name),
            "count": len(station.deputies), "in_three_days": day + timedelta(days=3),
        }  # fmt: skip
        db.engine.dispose()
    server.start()
    yield server, facts
    server.stop()


def natural_width(within, testid: str) -> int:
    """The photo's width as the browser decoded it (0: not loaded)."""
    return within.get_by_test_id(testid).evaluate("img => img.complete ? img.naturalWidth : 0")


def test_the_home_screen_shows_today_s_deputy_on_duty_with_their_photo(kiosk, deputies_box):
    server, facts = deputies_box
    first_id, first_name = facts["first"]
    kiosk.goto(server.url)
    card = kiosk.get_by_test_id(f"on-duty-{first_id}")
    expect(card).to_contain_text(first_name)
    expect(card).to_contain_text("09:00–12:00")
    expect(kiosk.get_by_test_id("on-duty").locator("li")).to_have_count(1)
    assert natural_width(card, f"photo-{first_id}") > 0
    # Large: a photo people can recognise, a name readable from a step back.
    box = card.locator(".deputy-photo").bounding_box()
    assert box["width"] >= 120 and box["height"] >= 150
    assert float(card.locator(".on-duty-name").evaluate("el => parseFloat(getComputedStyle(el).fontSize)")) >= 44
    # Nothing spills off the screen, and the three tiles are all in view.
    assert kiosk.evaluate("document.documentElement.scrollWidth <= innerWidth + 1")
    tile = kiosk.get_by_test_id("station-deputies")
    expect(tile).to_be_in_viewport()
    screenshot(kiosk, "home-with-deputies")


def test_the_station_deputies_tile_lists_every_deputy_with_phone_and_next_duty(kiosk, deputies_box):
    server, facts = deputies_box
    (first_id, first_name), (second_id, _n), (third_id, third_name) = facts["first"], facts["second"], facts["third"]
    kiosk.goto(server.url)
    tap(kiosk, "station-deputies")
    cards = kiosk.get_by_test_id("deputy-list").locator("li")
    expect(cards).to_have_count(facts["count"])
    first = kiosk.get_by_test_id(f"station-deputy-{first_id}")
    expect(first).to_contain_text(first_name)
    expect(first).to_contain_text("罗定市人大代表")  # a 街道 has no congress of its own
    expect(kiosk.get_by_test_id(f"public-phone-{first_id}")).to_have_text("电话 0766-3812345")
    day = facts["in_three_days"]
    expect(kiosk.get_by_test_id(f"duty-days-{first_id}")).to_have_text(
        f"值班：今天 09:00–12:00；{day.month}月{day.day}日（周{'一二三四五六日'[day.weekday()]}）"
    )
    assert natural_width(kiosk, f"photo-{first_id}") > 0 and natural_width(kiosk, f"photo-{second_id}") > 0
    # No photo: the first character of the name stands in.
    expect(kiosk.get_by_test_id(f"photo-{third_id}")).to_have_text(third_name[0])
    expect(kiosk.get_by_test_id(f"public-phone-{third_id}")).to_have_count(0)
    screenshot(kiosk, "station-deputies")
    tap(kiosk, "back")
    expect(kiosk.get_by_test_id("start")).to_be_visible()


def test_choosing_a_deputy_shows_their_photos(kiosk, deputies_box):
    server, facts = deputies_box
    first_id, _name = facts["first"]
    start(kiosk, server.url)
    tap(kiosk, "category-road")
    kiosk.get_by_test_id("content").fill("村口的路灯坏了三个月。")
    tap(kiosk, "next")
    tap(kiosk, "anonymous")
    tap(kiosk, "next")
    choice = kiosk.get_by_test_id(f"deputy-{first_id}")
    expect(choice).to_be_visible()
    assert natural_width(kiosk, f"photo-{first_id}") > 0
    tap(kiosk, f"deputy-{first_id}")
    expect(kiosk.get_by_test_id("submit")).to_be_visible()

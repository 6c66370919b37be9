"""The hub's honest answer for a receipt it has not received yet."""

import pytest

from kiosk.clock import to_local
from kiosk.public.pending import NOT_YET_SENT, pending_receipt
from kiosk.models import utcnow
from tests.support.factories import make_opinion
from tests.support.inprocess import sync


def today():
    return to_local(utcnow()).strftime("%y%m%d")


def test_a_real_station_number_not_received_yet_is_pending(hub_app):
    with hub_app.app_context():
        pending = pending_receipt(f"lc00-{today()}-0007 ")
        assert pending.number == f"LC00-{today()}-0007"
        assert pending.message == NOT_YET_SENT
        assert pending.station_name.endswith("中心联络站")
        assert pending.last_contact_at is None


@pytest.mark.parametrize("number", ["", "nonsense", "ZZ99-261127-0001", "LC00-261399-0001", "LC00-491231-0001", "LC00-261127-1"])
def test_unknown_station_bad_date_or_malformed_is_not_pending(hub_app, number):
    with hub_app.app_context():
        assert pending_receipt(number) is None


def test_a_received_receipt_is_not_pending(station_app, hub_app, transport):
    with station_app.app_context():
        number = make_opinion("LC00").receipt_number
    with hub_app.app_context():
        assert pending_receipt(number) is not None
    assert sync(station_app, transport).ok
    with hub_app.app_context():
        assert pending_receipt(number) is None
        assert pending_receipt(number.replace("-0001", "-0002")).last_contact_at is not None

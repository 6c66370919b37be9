"""The kiosk browser's managed policy (deploy/station/chromium/kiosk.json),
read by Debian's Chromium as on a box: only the station's own address opens,
the microphone only there, and no DevTools client (Playwright included) can
drive it. The first tests run with DeveloperToolsAvailability relaxed, the
one key that would stop Playwright itself; the last uses the file as it is.
"""

import json

import pytest
from playwright.sync_api import Error as PlaywrightError

from tests.support.kiosk_browser import POLICY_FILE, chromium_under_policy, station_policy

pytestmark = pytest.mark.browser

# The same box under another name: a different origin the policy never lists.
def elsewhere(url: str) -> str:
    return url.replace("127.0.0.1", "localhost")


@pytest.fixture(scope="module")
def policy_browser(playwright, box, tmp_path_factory):
    """Chromium under the policy with DevTools allowed, and for the microphone
    test the other origin let through the URL filter (not the microphone list)."""
    policy = station_policy(box.url, DeveloperToolsAvailability=1)
    policy["URLAllowlist"].append(elsewhere(box.url))
    with chromium_under_policy(policy, tmp_path_factory.mktemp("policy-chromium")) as endpoint:
        browser = playwright.chromium.connect_over_cdp(endpoint)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def strict_browser(playwright, box, tmp_path_factory):
    """Chromium under the policy as installed, but for DevTools."""
    policy = station_policy(box.url, DeveloperToolsAvailability=1)
    with chromium_under_policy(policy, tmp_path_factory.mktemp("strict-chromium")) as endpoint:
        browser = playwright.chromium.connect_over_cdp(endpoint)
        yield browser
        browser.close()


@pytest.fixture
def page_in():
    """A page in a fresh context of the given browser (the policy is the browser's, every context's)."""
    contexts = []

    def open_page(browser):
        contexts.append(browser.new_context())
        page = contexts[-1].new_page()
        page.set_default_timeout(10_000)
        return page

    yield open_page
    for context in contexts:
        context.close()


MICROPHONE = """async () => {
    try {
        const stream = await navigator.mediaDevices.getUserMedia({audio: true});
        stream.getTracks().forEach(t => t.stop());
        return "granted";
    } catch (error) { return error.name; }
}"""


def test_the_station_opens_and_every_other_address_is_blocked(strict_browser, box, page_in):
    page = page_in(strict_browser)
    response = page.goto(box.url + "/")
    assert response.status == 200
    assert "127.0.0.1" in page.url
    for address in (elsewhere(box.url) + "/", box.url.rsplit(":", 1)[0] + ":9/", "file:///etc/passwd"):
        with pytest.raises(PlaywrightError, match="ERR_BLOCKED_BY_ADMINISTRATOR"):
            page.goto(address)


def test_the_microphone_is_the_stations_alone(policy_browser, box, page_in):
    page = page_in(policy_browser)
    page.goto(box.url + "/")
    assert page.evaluate(MICROPHONE) == "granted"
    # Same app, same page and headers, another origin: refused by the policy, with no prompt.
    page.goto(elsewhere(box.url) + "/")
    assert page.evaluate(MICROPHONE) == "NotAllowedError"


def test_the_file_turns_off_what_a_kiosk_must_not_offer():
    policy = json.loads(POLICY_FILE.read_text())
    assert policy["URLBlocklist"] == ["*"]
    assert policy["URLAllowlist"] == ["http://127.0.0.1:5000"]
    assert policy["AudioCaptureAllowedUrls"] == ["http://127.0.0.1:5000"]
    assert policy["DeveloperToolsAvailability"] == 2
    assert policy["DownloadRestrictions"] == 3
    for key in ("PasswordManagerEnabled", "AutofillAddressEnabled", "AutofillCreditCardEnabled",
                "PrintingEnabled", "TranslateEnabled", "AudioCaptureAllowed"):
        assert policy[key] is False, key


def test_under_the_full_file_playwright_cannot_drive_the_browser(playwright, box, tmp_path):
    with chromium_under_policy(station_policy(box.url), tmp_path) as endpoint:
        # The port answers, but DevTools is off for every page: no page can be opened or driven.
        with pytest.raises(PlaywrightError):
            browser = playwright.chromium.connect_over_cdp(endpoint, timeout=10_000)
            try:
                browser.contexts[0].new_page().goto(box.url + "/")
            finally:
                browser.close()

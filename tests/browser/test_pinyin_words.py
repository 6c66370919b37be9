"""Typing words and phrases through the station's Rime engine, by touch, in both screen shapes."""

import pytest
from playwright.sync_api import expect

from tests.support.touch import candidate_row, key, pick_candidate, start, tap, tap_keys, type_chinese

pytestmark = pytest.mark.browser

SENTENCE = "村口的路灯坏了三个月了"


def test_the_sentence_in_phrases_takes_few_taps(kiosk, box):
    page = kiosk
    start(page, box.url)
    tap(page, "category-road")
    content = page.get_by_test_id("content")
    taps = type_chinese(page, "cunkoude", "村口的")
    # A candidate that takes part of the letters leaves the rest to go on with.
    tap_keys(page, "ludenghuaile")
    taps += len("ludenghuaile") + pick_candidate(page, "路灯", "ludenghuaile")
    expect(content).to_have_value("村口的路灯huaile")
    # What was written before ranks the rest: 坏了 after 路灯.
    taps += pick_candidate(page, "坏了", "huaile")
    taps += type_chinese(page, "sangeyuele", "三个月了")
    expect(content).to_have_value(SENTENCE)
    # 30 letters and 4 picks, none paged on for: 34 taps, 3.1 a character, where
    # single syllables took 41 (3.7).
    assert taps == 34, taps
    expect(candidate_row(page)).to_be_hidden()


def test_paging_separator_and_v(kiosk, box):
    page = kiosk
    start(page, box.url)
    tap(page, "category-road")
    content = page.get_by_test_id("content")
    row = candidate_row(page)
    tap_keys(page, "xian")
    expect(row).to_have_attribute("data-letters", "xian")
    prev = row.get_by_test_id("candidates-prev")
    expect(prev).to_be_disabled()
    row.get_by_test_id("candidates-next").tap()
    expect(row).not_to_have_attribute("data-offset", "0")
    expect(prev).to_be_enabled()
    prev.tap()
    expect(row).to_have_attribute("data-offset", "0")
    pick_candidate(page, "冼", "xian")
    # 分隔 types the separator: xi'an is 西安, not 先.
    tap_keys(page, ["x", "i", "'", "a", "n"])
    pick_candidate(page, "西安", "xi'an")
    type_chinese(page, "nv", "女")
    type_chinese(page, "lve", "略")
    expect(content).to_have_value("冼西安女略")
    key(page, "{bksp}").tap()
    expect(content).to_have_value("冼西安女")


def test_the_sentence_by_initials_takes_fewer_taps(kiosk, box):
    page = kiosk
    start(page, box.url)
    tap(page, "category-road")
    # Words by their initials where the index has them, the rest in full.
    taps = 0
    for letters, word in (("ck", "村口"), ("d", "的"), ("ld", "路灯"), ("huaile", "坏了"),
                          ("sgy", "三个月"), ("le", "了")):
        taps += type_chinese(page, letters, word)
    expect(page.get_by_test_id("content")).to_have_value(SENTENCE)
    # 16 letters and 6 picks, none paged on for: 22 taps (2.0 a character), where phrases in full took 34.
    assert taps == 22, taps

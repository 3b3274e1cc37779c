"""The field app in an English browser says nothing in Chinese but the data (addresses, names,
the grids' names, the city's checklist), on every screen a worker walks through; the setting on
the sync page switches it to Chinese and back, and is kept."""
import json
import os
import re

import pytest

from tests.browser.conftest import shot
from tests.browser.test_field_app import PHONE, add_person, field_live, log_in, new_household, record_visit  # noqa: F401

CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _city_words():
    """The checklist's phrases and labels: the city's configuration, in its own language."""
    with open(os.path.join(ROOT, "sync", "data", "checklists.json"), encoding="utf-8") as fh:
        text = fh.read()
    json.loads(text)
    return sorted(set(re.findall(r'"(?:label|phrase)": "([^"]+)"', text)), key=len, reverse=True)


DATA = _city_words() + ["和平路12号", "王建国", "王小明", "一网格", "二网格"]


def chinese_left(page):
    text = page.inner_text("body")
    for d in DATA:
        text = text.replace(d, "")
    return sorted(set(CJK.findall(text))) + ([page.title()] if CJK.search(page.title()) else [])


@pytest.mark.parametrize("field_live", ["sqlite"], indirect=True)
def test_an_english_browser_sees_no_chinese_but_data(field_live, browser):
    base, app, city = field_live
    errors = []
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="en-US",
                                  service_workers="block", bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.viewport_name = "phone"
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(base + "/field/")
    page.wait_for_selector("#login")
    assert page.evaluate("document.documentElement.lang") == "en"
    assert not chinese_left(page), chinese_left(page)
    log_in(page, base, "w12")
    seen = {"home": chinese_left(page)}
    hid = new_household(page, city["G1"], "和平路12号", "401", "王建国", "13800138000")
    add_person(page, hid, "王建国", "head")
    add_person(page, hid, "王小明", "child")
    page.click("#start-visit")
    page.wait_for_selector("#visit")
    seen["visit form"] = chinese_left(page)
    page.goto(f"{base}/field/#/household/{hid}")
    record_visit(page, {"children": "concern"}, child_without_carer=True)
    seen["household after a visit"] = chinese_left(page)
    shot(page, "field-english-household")
    for route in ("households", f"household/{hid}/flag", "due", "flags", "sync", f"household/{hid}/edit",
                  f"household/{hid}/person", "new-household"):
        page.goto(f"{base}/field/#/{route}")
        page.wait_for_selector("#main > *:not(.empty)")
        seen[route] = chinese_left(page)
    # a refusal at the door, in English
    page.goto(f"{base}/field/#/household/{hid}/person")
    page.fill("#f-name", "王小明")
    page.fill("#f-id_number", "12345")
    page.click("#new-person button[type=submit]")
    page.wait_for_selector("#matches .msg.error")
    seen["a refusal"] = chinese_left(page)
    assert "ID number" in page.inner_text("#matches")
    left = {k: v for k, v in seen.items() if v}
    assert not left, left
    assert not errors, errors

    # the setting: Chinese, kept across a reload, and back
    page.goto(f"{base}/field/#/sync")
    page.select_option("#f-language", "zh-CN")
    page.wait_for_function("document.documentElement.lang === 'zh-CN'")
    assert "同步状态" in page.inner_text("#main") and "住户" in page.inner_text("header")
    page.reload()
    page.wait_for_selector("#sync-page")
    assert "同步状态" in page.inner_text("#main")
    page.select_option("#f-language", "en")
    page.wait_for_function("document.documentElement.lang === 'en'")
    assert "Sync status" in page.inner_text("#main") and not chinese_left(page)
    context.close()

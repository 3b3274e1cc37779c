"""The workspace pages in the reader's language, on SQLite and PostgreSQL: with English asked for
(``?lang=en`` or Accept-Language) the queue, a case with summoned departments, a refused form
and the departments page hold no Chinese but the data (names, addresses, notes, areas); in the
default Chinese they hold no English word from the templates."""
import html as htmlmod
import re

from sqlalchemy import select

from server.extensions import db
from server.models import Area, Department, Worker
from tests.server.test_casework_api import H
from tests.server.test_departments_web import depts, street_case  # noqa: F401  (depts: a fixture)
from tests.server.test_review_web import login
from tests.server.test_workspace_web import form_of, page, post

#: Chinese characters and the full-width punctuation that goes with them
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]+")
#: an English word: three letters or more (a lone "h" or "pm" is not a sentence)
WORD = re.compile(r"[A-Za-z]{3,}")
REQUEST = "请协助核实就医与低保"


def visible(html):
    """The text a person reads: the page's text, its title and aria-labels, without markup."""
    html = re.sub(r"<(style|script)\b.*?</\1>", " ", html, flags=re.S)
    labels = " ".join(re.findall(r'aria-label="([^"]*)"', html))
    return htmlmod.unescape(re.sub(r"<[^>]+>", " ", html) + " " + labels)


def without(text, data):
    for d in sorted(data, key=len, reverse=True):
        text = text.replace(d, " ")
    return text


def summoned_case(app, client, auth, city, depts):  # noqa: F811
    """A street case with two departments summoned and late to report in, seen by street1."""
    clock, hid, fid = street_case(app, client, auth, city)
    login(client, "street1")
    html = page(client, f"/work/case/{fid}")
    assert post(client, fid, html, "summon", department_id=[depts["WJ"], depts["MZ"]],
                note=REQUEST).status_code == 302
    clock.now += 30 * H
    with app.app_context():
        street = db.session.execute(select(Area).where(Area.code == "S1")).scalar_one()
        data = {a.name for a in db.session.execute(select(Area)).scalars()}
        data |= {d.name for d in db.session.execute(select(Department)).scalars()}
        data |= {w.display_name for w in db.session.execute(select(Worker)).scalars() if w.display_name}
        data |= {"和平路5号", REQUEST}
        return fid, str(street.id), data


def test_with_english_asked_for_only_the_data_is_chinese(app, client, auth, city, depts):  # noqa: F811
    fid, street, data = summoned_case(app, client, auth, city, depts)
    pages = {
        "queue": page(client, "/work/?lang=en"),
        "queue by header": client.get("/work/", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(as_text=True),
        "case": page(client, f"/work/case/{fid}?lang=en"),
        "departments": page(client, f"/review/area/{street}/departments?lang=en"),
    }
    case = pages["case"]
    # refused forms (a note without words, a release naming no department) and a stale one
    resp = client.post(f"/work/case/{fid}?lang=en", data=dict(form_of(case, "note"), note=""))
    assert resp.status_code == 422
    pages["refused"] = resp.get_data(as_text=True)
    resp = client.post(f"/work/case/{fid}?lang=en", data=dict(form_of(case, "release"), department_id=""))
    assert resp.status_code == 422
    pages["no department"] = resp.get_data(as_text=True)
    resp = client.post(f"/work/case/{fid}?lang=en", data=dict(form_of(case, "assign"), assignee_id="nobody"))
    assert resp.status_code == 422
    pages["bad assignee"] = resp.get_data(as_text=True)
    resp = client.post(f"/work/case/{fid}?lang=en", data=dict(form_of(case, "note"), note="x", at_level="community"))
    assert resp.status_code == 409
    pages["stale"] = resp.get_data(as_text=True)
    for name, html in pages.items():
        text = visible(html)
        assert CJK.findall(without(text, data)) == [], name
    assert "Cases to handle" in pages["queue"] and "Cases to handle" in pages["queue by header"]
    assert "Summoned departments" in case and "Report-in overdue by 6 hours" in case
    assert "Write the note" in pages["refused"] and "has changed since you opened" in pages["stale"]
    assert "Choose a department" in pages["no department"]
    assert "Cannot do this: person to handle the case: this value cannot be saved" in pages["bad assignee"]
    assert "Hours to report in" in pages["departments"]
    assert REQUEST in case and "区卫健局" in case      # the data stays as it was typed


def test_in_the_default_chinese_no_english_word_from_the_templates_shows(app, client, auth, city, depts):  # noqa: F811
    fid, street, data = summoned_case(app, client, auth, city, depts)
    pages = {"queue": page(client, "/work/"), "case": page(client, f"/work/case/{fid}"),
             "departments": page(client, f"/review/area/{street}/departments")}
    for name, html in pages.items():
        assert WORD.findall(without(visible(html), data)) == [], name
    assert "待办案件" in pages["queue"] and "报到超时 6 小时" in pages["case"] and "召集总数" in pages["departments"]

"""Every word a person reads has its Chinese: the zh_CN catalogues translate every msgid the
sources hold (extracted afresh, so a new untranslated string fails here), with the same
placeholders, and the compiled .mo files say the same as the .po files."""
import os
import subprocess
import sys

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CATALOGUES = [
    ("babel.cfg", "server/translations/zh_Hans_CN/LC_MESSAGES/messages"),
    ("babel-sdk.cfg", "client_sdk/locale/zh_CN/LC_MESSAGES/fieldsync"),
]
KEYWORDS = ["-k", "_", "-k", "N_", "-k", "gettext", "-k", "ngettext:1,2", "-k", "lazy_gettext", "-k", "_l"]


def _ids(catalog):
    return {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalog if m.id}


def _key(value):
    return tuple(value) if isinstance(value, (list, tuple)) else value


def _placeholders(text):
    import re
    return sorted(re.findall(r"%\((\w+)\)", text))


@pytest.mark.parametrize("config,base", CATALOGUES)
def test_every_msgid_in_the_sources_is_translated_to_chinese(tmp_path, config, base):
    pot = tmp_path / "now.pot"
    pybabel = os.path.join(os.path.dirname(sys.executable), "pybabel")
    subprocess.run([pybabel, "extract", "-F", config, *KEYWORDS, "-o", str(pot), "."], cwd=ROOT, check=True,
                   capture_output=True)
    with open(pot, "rb") as fh:
        wanted = _ids(read_po(fh))
    with open(os.path.join(ROOT, base + ".po"), "rb") as fh:
        have = _ids(read_po(fh, locale="zh_CN"))
    missing = [i for i in wanted if i not in have or not (have[i].string if isinstance(have[i].string, str)
                                                           else have[i].string[0])]
    assert not missing, f"untranslated in {base}.po (make messages, translate, make compile): {missing}"
    fuzzy = [i for i in wanted if have[i].fuzzy]
    assert not fuzzy, f"fuzzy entries in {base}.po: {fuzzy}"
    for msgid in wanted:
        string = have[msgid].string if isinstance(have[msgid].string, str) else have[msgid].string[0]
        assert _placeholders(string) == _placeholders(msgid), msgid


@pytest.mark.parametrize("config,base", CATALOGUES)
def test_the_compiled_catalogue_matches_its_source(config, base):
    with open(os.path.join(ROOT, base + ".po"), "rb") as fh:
        po = {_key(m.id): _key(m.string) for m in read_po(fh, locale="zh_CN") if m.id}
    with open(os.path.join(ROOT, base + ".mo"), "rb") as fh:
        mo = {_key(m.id): _key(m.string) for m in read_mo(fh) if m.id}
    assert po == mo, "run make compile"

"""The comparable form of a person record (``person_features``) and its blocking keys.

A record is a dict with any of ``name, gender, birth_date, id_number, phone, address`` (or, for
a person held on a device, ``household_id`` instead of or besides ``address``). Its features are
computed once and then compared many times, so everything a comparison needs is precomputed:
the normalised name and its two pinyin keys, the 18-character ID number and whether its check
character and date are right, the birth date (typed, else the one inside the ID number), the
gender (typed, else from the ID number), the phone, and the parsed address.

Blocking keys (``blocking_keys``): two records are compared only when they share one. Each key is
a short string whose first character says its kind; the kinds are in a fixed order, and a pair
is "owned" by the first kind it shares (``first_shared``), so that a pair found in several blocks
is scored once.

=====  ======================================  ============================================
kind   key                                     finds
=====  ======================================  ============================================
``i``  first 17 characters of the ID number    the same number in any spelling; a wrong or
                                               lowercase check character
``p``  phone (7+ digits)                       records without an ID number
``s``  fuzzy surname pinyin + birth date       ID typos, homophone given names
``n``  fuzzy full-name pinyin + birth year     birth-date typos in month or day
``t``  fuzzy full-name pinyin + ID's last 4    ID typos in the birth-date part, no birth date
``a``  fuzzy full-name pinyin + address key    records with neither ID, birth date nor phone
=====  ======================================  ============================================
"""
from typing import NamedTuple

from stdnum.cn import ric

from . import normalize_id_number, normalize_phone
from .address import parse_address
from .dates import make_date, normalize_birth_date
from .names import name_keys, normalize_name

KEY_KINDS = ("i", "p", "s", "n", "t", "a")


class PersonFeatures(NamedTuple):
    rid: object            # the record's id
    name: str              # normalised characters, "" when missing
    py: str                # toneless pinyin, joined
    fz: str                # fuzzy (accent-folded) pinyin, joined
    sfz: str               # fuzzy pinyin of the surname
    id18: str              # 18-character ID number, "" when missing or not an ID number
    id_valid: bool         # check character and embedded date are right
    birth: str             # YYYY-MM-DD, "" when unknown
    gender: str            # "M" / "F", "" when unknown
    phone: str             # digits, "" when missing
    address: object        # address.Address or None
    household_id: object   # the household the person belongs to (device records), or None
    keys: tuple            # blocking keys, one slot per KEY_KINDS entry (None when absent)


def _check_id(number):
    """``(id18, valid)`` for a raw ID number; ``("", False)`` when it cannot be one."""
    if not number:
        return "", False
    id18 = normalize_id_number(number) if isinstance(number, str) else None
    if not id18:
        return "", False
    birth = make_date(id18[6:10], id18[10:12], id18[12:14])
    return id18, bool(birth) and ric.calc_check_digit(id18) == id18[17]


def _gender(raw, id18, id_valid):
    if raw:
        value = str(raw).strip().upper()[:1]
        if value in ("M", "男"):
            return "M"
        if value in ("F", "女"):
            return "F"
    if id_valid:
        return "M" if int(id18[16]) % 2 else "F"
    return ""


def person_features(record, rid=None):
    """The comparable features of a person record (see the module docstring)."""
    get = record.get
    name = normalize_name(get("name")) or ""
    py, fz, sfz = name_keys(name) if name else ("", "", "")
    id18, id_valid = _check_id(get("id_number"))
    birth = normalize_birth_date(get("birth_date")) or ""
    if not birth and id18:
        birth = make_date(id18[6:10], id18[10:12], id18[12:14]) or ""
    gender = _gender(get("gender"), id18, id_valid)
    phone = normalize_phone(get("phone")) if get("phone") else None
    phone = phone if phone and len(phone) >= 7 else ""
    address = parse_address(get("address")) if get("address") else None
    if rid is None:
        rid = get("id", get("record_id"))
    keys = (
        "i" + id18[:17] if id18 else None,
        "p" + phone if phone else None,
        "s" + sfz + birth if sfz and birth else None,
        "n" + fz + birth[:4] if fz and birth else None,
        "t" + fz + id18[-4:] if fz and id18 else None,
        "a" + fz + "|" + address.key if fz and address is not None and address.key else None,
    )
    return PersonFeatures(rid, name, py, fz, sfz, id18, id_valid, birth, gender, phone, address,
                          get("household_id"), keys)


def blocking_keys(features):
    """The blocking keys a record has (the non-empty ones)."""
    return [k for k in features.keys if k is not None]


def first_shared(a, b):
    """The index (in KEY_KINDS) of the first blocking key two records share, or None."""
    for i, (ka, kb) in enumerate(zip(a.keys, b.keys)):
        if ka is not None and ka == kb:
            return i
    return None

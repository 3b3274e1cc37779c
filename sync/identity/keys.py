"""The comparable form of a person record (``person_features``) and its blocking keys.

A record is a dict with any of ``name, gender, birth_date, id_number, phone, address`` (or, for
a person held on a device, ``household_id`` instead of or besides ``address``). Its features are
computed once and then compared many times, so everything a comparison needs is precomputed:
the normalised name and its two pinyin keys, the 18-character ID number and whether its check
character and date are right, the birth date (typed, else the one inside the ID number), the
gender (typed, else from the ID number), the phone, and the parsed address.

Blocking keys (``key_tuple``): two records are compared only when they share one. Each key is
a short string whose first character says its kind; the kinds are in a fixed order, and a pair
is "owned" by the first kind it shares (``first_shared``, computed from the fields without
building the keys), so that a pair found in several blocks is scored once.

=====  ======================================  ============================================
kind   key                                     finds
=====  ======================================  ============================================
``i``  first 17 characters of the ID number    the same number in any spelling; a wrong or
                                               lowercase check character
``p``  phone (7+ digits)                       records without an ID number
``s``  fuzzy surname pinyin + birth date       another given name, same birth date: a
                                               ``maybe`` for the worker to look at (not used
                                               by batch linkage: such pairs are never
                                               ``same``, and the blocks grow with the
                                               register's size squared)
``n``  fuzzy full-name pinyin + birth year     a slip in the day (and a surname typed
       and month                               wrongly)
``m``  fuzzy full-name pinyin + birth year     a slip in the month
       and day
``t``  fuzzy full-name pinyin + ID's last 4    ID typos in the birth-date part, no birth date
``d``  fuzzy full-name pinyin + ID's date      ID typos elsewhere, no birth date
``a``  fuzzy full-name pinyin + address key    records with neither ID, birth date nor phone
``b``  birth date + address key                the name typed another way (a character
                                               dropped or swapped, a nickname) at one door
``g``  birth date + the name's last syllable   a nickname (小坤 / 阿坤 / 坤坤 for 靳坤), a
       (fuzzy)                                 middle character dropped, a near surname:
                                               anywhere, not only at one door
=====  ======================================  ============================================

The ID number carries the birth date and the gender. When a record's 18-character number is
valid and its typed birth date fits it (equal, or typed wrong in a known way: a digit, a swap,
day and month, the lunar birthday, the year alone; ``dates.agrees_with_id``), the number's date
is the birth date. When the typed birth date does not fit (or, with no birth date typed, the
typed gender contradicts the number), the number is someone else's, a family member's
(``id_foreign``): a parent's number on a child's school record. Such a number is not compared.
A record from a school list (``source`` naming a school: ``school``, ``学校``, ``学籍`` …) is a
pupil's: a number that makes its holder older than ``SCHOOL_MAX_AGE`` is a parent's too, even
with no birth date typed beside it.

Registers are kept in spreadsheets and typed by many hands, so the fields are read the way
people fill them in (``typed_name``, ``typed_phone``, ``typed_id``, the gender):

* a note beside the name (``王伟（户主）``, ``李娜(小名)``, ``张三【已迁出】``) and stray digits are
  not part of it;
* two phones in one cell (``13812345678/0576-88123456``, ``…，…``, ``…或…``): the first is the
  person's; a masked number (``138****5678``) is no number;
* a number a spreadsheet was told to keep as text (``'331002…``), or with a note after it
  (``331002…（本人）``): the 18 or 15 characters in it; the letter O typed for 0 and I or l for
  1 inside it;
* the gender as the national code (GB/T 2261.1: ``1`` male, ``2`` female; ``0`` and ``9`` not
  known), or as ``男``/``女``/``M``/``F`` and words starting with them.

Dates are read in the same spirit (``dates.py``: spreadsheet serials, lunar words, a year and a
month).
"""
import datetime as _dt
import re
import unicodedata
from typing import NamedTuple

from stdnum.cn import ric

from . import normalize_id_number, normalize_phone
from .address import parse_address
from .dates import agrees_with_id, make_date, normalize_birth_date, normalize_birth_year
from .names import fold_syllable, name_keys, name_syllables, normalize_name

KEY_KINDS = ("i", "p", "s", "n", "m", "t", "d", "a", "b", "g")
#: A pupil on a school list is younger than this (kindergarten to senior high school, with room
#: for a late or repeated year); a number older than that on the list is a parent's.
SCHOOL_MAX_AGE = 25
_THIS_YEAR = _dt.date.today().year


_NOTE = re.compile(r"[(（\[【〔<《][^)）\]】〕>》]*[)）\]】〕>》]?")
_STRAY_DIGITS = re.compile(r"[0-9０-９]+")
_PHONE_SPLIT = re.compile(r"[/,，;；、|\\]|或|\s{2,}")
#: letters typed for the digits they look like (O for 0, I and L for 1) inside a number
_LOOKALIKE_DIGITS = str.maketrans({"O": "0", "I": "1", "L": "1"})
_ID_RUN = re.compile(r"\d{17}[\dX]|\d{15}")
#: GB/T 2261.1 codes of sex: 1 male, 2 female (0 and 9: not known)
_GENDER_CODES = {"1": "M", "2": "F", "M": "M", "男": "M", "F": "F", "女": "F"}


def typed_name(raw):
    """The name in a register's cell: a note in brackets beside it and stray digits removed."""
    if not raw or not isinstance(raw, str):
        return raw
    if any(c in raw for c in "(（[【〔<《"):
        raw = _NOTE.sub("", raw)
    return _STRAY_DIGITS.sub("", raw) if any(c.isdigit() for c in raw) else raw


def typed_phone(raw):
    """The person's phone (digits) from a register's cell: the first of several, none when masked."""
    if not raw or not isinstance(raw, str):
        return ""
    if "*" in raw or "＊" in raw or "×" in raw:
        return ""
    for part in _PHONE_SPLIT.split(raw):
        digits = normalize_phone(part) if part else None
        if digits and len(digits) >= 7:
            if len(digits) >= 22 and digits[0] == "1":
                digits = digits[:11]           # two mobiles with one space between them
            return digits
    return ""


def typed_id(raw):
    """The ID number in a register's cell: as typed, or the 18 (or 15) characters inside it
    when a spreadsheet's text mark or a note came with it."""
    if not raw or not isinstance(raw, str) or normalize_id_number(raw) or len(raw) < 15:
        return raw
    return _id_inside(raw)


def _id_inside(raw):
    text = unicodedata.normalize("NFKC", raw).upper().replace(" ", "").replace("-", "")
    found = _ID_RUN.search(text) or _ID_RUN.search(text.translate(_LOOKALIKE_DIGITS))
    return found.group() if found else raw


def from_school_list(source):
    """Does a record's ``source`` name a school list (a school's, a kindergarten's, the education
    bureau's: 学校, 学生, 学籍, 幼儿园, 教育局, school, pupil, student, education)?"""
    if not source or not isinstance(source, str):
        return False
    low = source.lower()
    return any(word in low for word in _SCHOOL_WORDS)


_SCHOOL_WORDS = ("school", "pupil", "student", "education", "kindergarten", "学", "幼儿园", "教育", "托育")


class PersonFeatures(NamedTuple):
    rid: object            # the record's id
    name: str              # normalised characters, "" when missing
    py: str                # toneless pinyin, joined
    py2: str               # the same with the surname's own reading (覃 qin), "" when no different
    fz: str                # fuzzy (accent-folded) pinyin, joined
    sfz: str               # fuzzy pinyin of the surname
    id18: str              # 18-character ID number, "" when missing or not an ID number
    id_valid: bool         # 18 characters as typed, check character and embedded date right
    birth: str             # YYYY-MM-DD, "" when unknown
    birth_from_id: bool    # the birth date was read from the ID number (none was typed)
    gender: str            # "M" / "F", "" when unknown
    phone: str             # digits, "" when missing
    address: object        # address.Address or None
    household_id: object   # the household the person belongs to (device records), or None
    byear: str = ""        # the birth year when only a year was typed (and no ID number gives the date)
    id_foreign: bool = False   # the ID number contradicts the typed birth date (or gender): a family member's


def _check_id(number):
    """``(id18, valid, dated)`` for a raw ID number: ``valid`` when typed with 18 characters
    whose check character and date are right; ``dated`` when its date is a real date and it
    is valid or came from the old 15-digit form (which has no check character, so a slip in it
    goes unseen: it is never "valid"). A number whose check character is wrong has a slip
    somewhere, maybe in its date, so its date is not used as the birth date."""
    if not number or not isinstance(number, str):
        return "", False, False
    if not number.isascii():
        number = unicodedata.normalize("NFKC", number)
    id18 = normalize_id_number(number)
    if not id18 and len(number) > 15:
        number = _id_inside(number)      # a spreadsheet's text mark or a note beside it
        id18 = normalize_id_number(number)
    if not id18 or len(set(id18[:17])) <= 2:
        return "", False, False                 # not a number, or a placeholder (000…, 111…)
    if not make_date(id18[6:10], id18[10:12], id18[12:14]):
        return id18, False, False
    if len(_compact(number)) == 15:
        return id18, False, True
    valid = ric.calc_check_digit(id18) == id18[17]
    return id18, valid, valid


def _compact(number):
    return number.replace(" ", "").replace("-", "")


def _gender(raw, id18, dated):
    if raw:
        value = _GENDER_CODES.get(unicodedata.normalize("NFKC", str(raw)).strip().upper()[:1])
        if value:
            return value
    if dated:
        return "M" if int(id18[16]) % 2 else "F"
    return ""


def person_features(record, rid=None):
    """The comparable features of a person record (see the module docstring)."""
    get = record.get
    name = normalize_name(typed_name(get("name"))) or ""
    py, fz, sfz, py2 = name_keys(name) if name else ("", "", "", "")
    id18, id_valid, dated = _check_id(get("id_number"))
    raw_birth = get("birth_date")
    birth = normalize_birth_date(raw_birth) or ""
    byear = "" if birth else normalize_birth_year(raw_birth) or ""
    birth_from_id = id_foreign = False
    id_birth = make_date(id18[6:10], id18[10:12], id18[12:14]) if id18 else None
    if id_birth and (birth or byear) and not agrees_with_id(birth or byear, id_birth):
        id_foreign = True                         # another person's number: the typed date stands
    elif dated and not birth and not byear and _gender(get("gender"), "", False) not in ("", _gender("", id18, True)):
        id_foreign = True
    elif id_birth and from_school_list(get("source")) and _THIS_YEAR - int(id_birth[:4]) > SCHOOL_MAX_AGE:
        id_foreign = True                         # a pupil with an adult's number: a parent's
    elif dated and not birth:
        birth, birth_from_id, byear = id_birth, True, ""
    elif dated and birth != id_birth:
        # the number's date: the typed one has a slip (a 15-digit number has no check
        # character, but a slip in its six date digits is rarer than one in a typed date)
        birth = id_birth
    gender = _gender(get("gender"), id18, dated and not id_foreign)
    phone = typed_phone(get("phone"))
    address = parse_address(get("address")) if get("address") else None
    if rid is None:
        rid = get("id", get("record_id"))
    return PersonFeatures(rid, name, py, py2, fz, sfz, id18, id_valid, birth, birth_from_id, gender, phone, address,
                          get("household_id"), byear, id_foreign)


def last_syllable(name):
    """The fuzzy pinyin of a name's last character ("" for none): what a nickname keeps."""
    syllables = name_syllables(name) if name else ()
    return fold_syllable(syllables[-1]) if syllables else ""


def key_tuple(f):
    """The blocking keys of features ``f``: one slot per ``KEY_KINDS`` entry, None when absent."""
    fz, birth, id18 = f.fz, f.birth, f.id18
    address = f.address
    return (
        "i" + id18[:17] if id18 else None,
        "p" + f.phone if f.phone else None,
        "s" + f.sfz + birth if f.sfz and birth else None,
        "n" + fz + birth[:7] if fz and birth else None,
        "m" + fz + birth[:4] + birth[8:] if fz and birth else None,
        "t" + fz + id18[-4:] if fz and id18 else None,
        "d" + fz + id18[6:14] if fz and id18 else None,
        "a" + fz + "|" + address.key if fz and address is not None and address.key else None,
        "b" + birth + "|" + address.key if birth and address is not None and address.key else None,
        "g" + birth + last_syllable(f.name) if birth and f.name else None,
    )


def blocking_keys(features):
    """The blocking keys a record has (the non-empty ones)."""
    return [k for k in key_tuple(features) if k is not None]


def first_shared(a, b, skip=()):
    """The index (in KEY_KINDS) of the first blocking key two records share, leaving out the
    kinds in ``skip``, or None: the same answer as comparing their ``key_tuple``s, from the
    fields (no key strings are built)."""
    if a.id18 and b.id18 and a.id18[:17] == b.id18[:17] and 0 not in skip:
        return 0
    if a.phone and a.phone == b.phone and 1 not in skip:
        return 1
    if a.birth and a.birth == b.birth and a.sfz and a.sfz == b.sfz and 2 not in skip:
        return 2
    if a.fz and a.fz == b.fz:
        if a.birth and b.birth:
            if a.birth[:7] == b.birth[:7] and 3 not in skip:
                return 3
            if a.birth[:4] == b.birth[:4] and a.birth[8:] == b.birth[8:] and 4 not in skip:
                return 4
        if a.id18 and b.id18:
            if a.id18[-4:] == b.id18[-4:] and 5 not in skip:
                return 5
            if a.id18[6:14] == b.id18[6:14] and 6 not in skip:
                return 6
        if a.address is not None and b.address is not None and a.address.key and \
                a.address.key == b.address.key and 7 not in skip:
            return 7
    if a.birth and a.birth == b.birth and a.address is not None and b.address is not None and a.address.key \
            and a.address.key == b.address.key and 8 not in skip:
        return 8
    if a.birth and a.birth == b.birth and a.name and b.name and 9 not in skip and \
            last_syllable(a.name) == last_syllable(b.name):
        return 9
    return None

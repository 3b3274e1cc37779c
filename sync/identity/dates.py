"""Birth dates: the forms people type, folded to ``YYYY-MM-DD``; and the date inside an ID number.

Accepted: ``1990-01-05``, ``1990-1-5``, ``1990/1/5``, ``1990.1.5``, ``19900105``,
``1990年1月5日``, ``一九九〇年一月五日``, ``一九九〇年十二月二十五日``, ``1990年元月5日``, ``90年1月5日``
(a two-digit year in the last hundred years), full-width
digits and dashes (``1990—01—05``), surrounding spaces, a ``datetime.date``/``datetime``, and an ISO
date-time (its date is kept). What a spreadsheet makes of a date column is read too: a number
(``19900105.0``) and a date serial (``32878``, days since 1899-12-30, five digits: 1927 to
2173). A date written in lunar words (``农历1990年正月初五``, ``1990年腊月十八``, ``阴历三月初八``
with a year) is the lunar calendar's, and is turned into the solar date (``lunar_words``).
Anything that is not a real calendar date between 1880 and 2100 gives None. A year alone
(``1990``, ``1990年``), or a year and a month (``1990年1月``, ``1990-01``, ``199001``), is not a
date: ``normalize_birth_year`` reads its year.

Registers hold birth dates typed wrong in a few known ways (``is_date_typo``): one digit, two
adjacent digits swapped, day and month swapped; and the lunar birthday written as if it were the
solar date (``lunar_equal``, by the ``lunardate`` package), which older people often give.
"""
import datetime as _dt
import re
import unicodedata
from functools import lru_cache

from . import is_valid_id_number, normalize_id_number

_DIGIT_CHARS = {"〇": "0", "零": "0", "○": "0", "Ｏ": "0", "一": "1", "二": "2", "三": "3", "四": "4",
                "五": "5", "六": "6", "七": "7", "八": "8", "九": "9"}
_SEPARATED = re.compile(r"^(\d{4})\s*[-/.年\s]\s*(\d{1,2})\s*[-/.月\s]\s*(\d{1,2})\s*[日号]?")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_CN_NUMBER = re.compile(r"[〇零○一二三四五六七八九十]+")
# dashes NFKC leaves alone (em and en dash, the horizontal bar, the minus sign)
_DASHES = str.maketrans({"—": "-", "–": "-", "―": "-", "−": "-", "‐": "-", "‑": "-"})
# a number a spreadsheet wrote for the date: 19900105.0; a date serial (32878)
_SHEET_NUMBER = re.compile(r"^(\d{8}|\d{5})(?:\.0*)?$")
_SERIAL_EPOCH = _dt.date(1899, 12, 30)
# a year of two digits, written with 年 (88年1月5日): said aloud, and typed, that way
_SHORT_YEAR = re.compile(r"^(\d{2})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?")
# the lunar calendar written in its own words: 农历 / 阴历 / 旧历, 正月 / 冬月 / 腊月, 初五 / 廿三
_LUNAR_MARK = re.compile(r"农历|阴历|旧历|正月|冬月|腊月|初[一二三四五六七八九十]|廿")
_LUNAR = re.compile(r"^(?:农历|阴历|旧历)?\s*(\d{4})\s*年?\s*(闰)?\s*(正|冬|腊|\d{1,2}|[一二三四五六七八九十]+)\s*月"
                    r"\s*(初[一二三四五六七八九十]|廿[一二三四五六七八九]?|卅|三十|二十|十[一二三四五六七八九]?|"
                    r"[一二三四五六七八九]|\d{1,2})\s*[日号]?$")
_LUNAR_MONTHS = {"正": 1, "冬": 11, "腊": 12}


def _cn_small_number(text):
    """``十二`` → 12, ``二十五`` → 25, ``三十`` → 30, ``〇五`` → 5 (month and day only)."""
    if "十" in text:
        tens, _, ones = text.partition("十")
        value = (int(_DIGIT_CHARS[tens]) if tens else 1) * 10
        return str(value + (int(_DIGIT_CHARS[ones]) if ones else 0))
    return "".join(_DIGIT_CHARS[c] for c in text)


def _from_chinese(text, lunar=False):
    # 一九九〇年十二月二十五日: the year digit by digit, month and day as small numbers; a date in
    # lunar words (一九九〇年正月初五) has its year's numerals turned, the month and day keep words
    if lunar:
        year, sep, rest = text.partition("年")
        return _from_chinese(year) + sep + rest if sep else text
    return _CN_NUMBER.sub(lambda m: _cn_small_number(m.group()), text)


def make_date(year, month, day):
    try:
        date = _dt.date(int(year), int(month), int(day))
    except (ValueError, TypeError):
        return None
    return date.isoformat() if 1880 <= date.year <= 2100 else None


def _lunar_day(word):
    if word.isdigit():
        return int(word)
    if word.startswith("初"):
        return int(_cn_small_number(word[1:]))
    if word.startswith("廿"):
        return 20 + (int(_DIGIT_CHARS[word[1:]]) if word[1:] else 0)
    if word == "卅":
        return 30
    return int(_cn_small_number(word))


def lunar_words(text):
    """The solar ``YYYY-MM-DD`` of a date written in lunar words (``农历1990年正月初五``,
    ``1990年腊月十八``, ``1990年闰四月初二``), None when it is not one; the year in digits (a
    year in Chinese numerals has been turned to digits by the caller)."""
    match = _LUNAR.match(text)
    if not match:
        return None
    year, leap, month, day = match.groups()
    month = _LUNAR_MONTHS.get(month) or int(month if month.isdigit() else _cn_small_number(month))
    from lunardate import LunarDate
    try:
        return LunarDate(int(year), month, _lunar_day(day), bool(leap)).to_solar_date().isoformat()
    except (ValueError, KeyError):
        return None


def _sheet_date(digits):
    if len(digits) == 8:
        return make_date(digits[:4], digits[4:6], digits[6:])
    serial = int(digits)
    date = _SERIAL_EPOCH + _dt.timedelta(days=serial)
    return date.isoformat() if 1880 <= date.year <= _dt.date.today().year else None


def normalize_birth_date(raw):
    """``YYYY-MM-DD``, or None when ``raw`` is not a date."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, _dt.datetime):
        raw = raw.date()
    if isinstance(raw, _dt.date):
        return make_date(raw.year, raw.month, raw.day)
    if not isinstance(raw, str):
        return None
    if len(raw) == 10 and raw[4] == "-" and raw[7] == "-" and raw[:4].isdigit():
        return make_date(raw[:4], raw[5:7], raw[8:10])      # the stored form: fast path
    text = unicodedata.normalize("NFKC", raw).strip().translate(_DASHES).replace("元月", "1月")
    lunar = _LUNAR_MARK.search(text)
    if _CN_NUMBER.search(text):
        text = _from_chinese(text, lunar=bool(lunar))
    if lunar:
        return lunar_words(text)
    match = _COMPACT.match(text) or _SEPARATED.match(text)
    if match:
        return make_date(*match.groups())
    short = _SHORT_YEAR.match(text)
    if short:
        # 88年1月5日: the century is the one that makes the person born in the past hundred years
        yy = int(short.group(1))
        year = (2000 if yy <= _dt.date.today().year % 100 else 1900) + yy
        return make_date(year, short.group(2), short.group(3))
    sheet = _SHEET_NUMBER.match(text)
    return _sheet_date(sheet.group(1)) if sheet else None


def birth_date_from_id(raw):
    """The birth date embedded in a resident ID number (15 or 18 characters), or None."""
    number = normalize_id_number(raw) if raw else None
    if not number:
        return None
    return make_date(number[6:10], number[10:12], number[12:14])


def gender_from_id(raw):
    """``M`` or ``F`` from the ID number's sequence digit (odd: male), when it is a valid number."""
    if not is_valid_id_number(raw):
        return None
    number = normalize_id_number(raw)
    return "M" if int(number[16]) % 2 else "F"


_YEAR_ONLY = re.compile(r"^(\d{4})\s*年?$")
# a year and a month: 1990年1月, 1990-01, 1990.1, 199001
_YEAR_MONTH = re.compile(r"^(\d{4})(?:\s*[-/.年]\s*(\d{1,2})\s*月?|(\d{2}))$")


def normalize_birth_year(raw):
    """``"1990"`` for a birth date given as a year alone (``1990``, ``1990年``, ``一九九〇年``)
    or a year and a month (``1990年1月``, ``1990-01``, ``199001``); None for anything else, a full
    date included."""
    if not raw or not isinstance(raw, str) or len(raw) > 12:
        return None
    text = unicodedata.normalize("NFKC", raw).strip().translate(_DASHES).replace("元月", "1月")
    if _CN_NUMBER.search(text):
        text = _from_chinese(text)
    match = _YEAR_ONLY.match(text)
    if not match:
        match = _YEAR_MONTH.match(text)
        if not match or not 1 <= int(match.group(2) or match.group(3)) <= 12:
            return None
    return match.group(1) if 1880 <= int(match.group(1)) <= 2100 else None


@lru_cache(maxsize=65536)
def lunar_to_solar_all(date):
    """The solar dates a lunar date written ``YYYY-MM-DD`` can be (a lunar birthday typed as if
    it were solar): the ordinary month's, and the leap month's when that year repeats the month
    (a typed date does not say which); empty when it is no lunar date (a 30th in a short
    month, before 1900)."""
    from lunardate import LunarDate
    try:
        year, month, day = int(date[:4]), int(date[5:7]), int(date[8:10])
    except (ValueError, IndexError):
        return ()
    out = []
    for leap in (False, True):
        if leap and LunarDate.leap_month_for_year(year) != month:
            continue
        try:
            out.append(LunarDate(year, month, day, leap).to_solar_date().isoformat())
        except ValueError:
            pass
    return tuple(out)


def lunar_to_solar(date):
    """The solar date of a lunar date written ``YYYY-MM-DD`` (the ordinary month), or None."""
    found = lunar_to_solar_all(date)
    return found[0] if found else None


def lunar_equal(a, b):
    """True when one of two ``YYYY-MM-DD`` dates is the other's lunar birthday written as a date
    (1990-02-09 for the solar 1990-03-05): the lunar date always comes 10 to 60 days earlier."""
    if not a or not b or a == b or a[:3] != b[:3]:
        return False
    return b in lunar_to_solar_all(a) or a in lunar_to_solar_all(b)


def agrees_with_id(typed, id_date):
    """Does a typed birth date (``YYYY-MM-DD`` or a year alone) fit the date inside the person's
    own ID number? Equal, or typed wrong in a known way: one digit (1988 → 1998 included), two
    adjacent digits swapped, day and month swapped, the year off by one, the lunar birthday,
    the year alone. A date
    that fits none of these is another person's: the number was typed from a family member."""
    if not typed or not id_date or typed == id_date:
        return True
    if len(typed) == 4:
        return typed == id_date[:4]
    if typed[4:] == id_date[4:] and abs(int(typed[:4]) - int(id_date[:4])) == 1:
        return True              # a year off by one (1969 for 1970): an age counted, not a date typed
    return is_date_typo(typed, id_date) or lunar_equal(typed, id_date)


# Agreement levels for dates.
DATE_EXACT, DATE_CLOSE, DATE_DIFFERENT = "exact", "close", "different"


def compare_dates(a, b):
    """``exact`` / ``close`` / ``different`` for two ``YYYY-MM-DD`` strings; None when either is
    missing. ``close``: one typed digit wrong, two adjacent digits swapped, or day and month
    swapped, and the years less than ten apart (1965 and 1995 differ in one digit, but are a
    parent's and a child's); the same day and month a year or exactly a decade apart; or one
    the other's lunar birthday."""
    if not a or not b:
        return None
    if a == b:
        return DATE_EXACT
    if a[4:] == b[4:] and abs(int(a[:4]) - int(b[:4])) in (1, 10):
        # the year a year or a decade off, the day right (1988 → 1989, 1988 → 1998): no parent
        # is ten years older than a child, and twins share the year
        return DATE_CLOSE
    if a[:3] != b[:3] and abs(int(a[:4]) - int(b[:4])) >= 10:
        return DATE_DIFFERENT
    return DATE_CLOSE if is_date_typo(a, b) or lunar_equal(a, b) else DATE_DIFFERENT


def is_date_typo(a, b):
    da, db = a.replace("-", ""), b.replace("-", "")
    if len(da) != 8 or len(db) != 8:
        return False
    diff = [i for i in range(8) if da[i] != db[i]]
    if len(diff) == 1:
        return True
    if len(diff) == 2 and diff[1] == diff[0] + 1 and da[diff[0]] == db[diff[1]] and da[diff[1]] == db[diff[0]]:
        return True
    # Day and month swapped (1990-05-03 for 1990-03-05).
    return da[:4] == db[:4] and da[4:6] == db[6:8] and da[6:8] == db[4:6]

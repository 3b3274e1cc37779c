"""What a typed value must be before it is saved: resident ID numbers, phones, dates not in the
future, flag categories the city knows. The same rules run on the tablet at entry and on the
server per change, so a value the one refuses the other refuses too (docs/protocol.md §3.1).

Each refusal is an ``InvalidChange`` with a stable ``code`` and the ``field`` it names; the
words a person reads come from sync/messages.py by that code.
"""
import datetime as _dt
import re
import time

from .errors import InvalidChange
from .identity import is_valid_id_number, normalize_id_number

#: how far ahead of the checking replica's clock a visit may be dated: the default hour a device's
#: clock may run ahead of the server's before its stamps are refused (GRIDSYNC_MAX_CLOCK_AHEAD_S)
MAX_FUTURE_S = 3600
#: the oldest birth date taken: no one alive was born earlier than this many years ago
MAX_AGE_YEARS = 130

#: flag categories every city has, by code and Chinese name (either is taken, and kept as sent:
#: records made before the codes name categories in Chinese); a city adds its own in its
#: checklist file's settings as ``"flag_categories": {"code": "名称", ...}``
CATEGORY_NAMES = {
    "de_facto_unsupported_child": "事实无人抚养儿童",
    "children_in_difficulty": "困境儿童",
    "unregistered_disability": "未申报残疾人",
    "illness_poverty": "因病致贫",
    "elderly_alone": "独居老人",
    "low_income": "低收入家庭",
    "dangerous_housing": "危房",
    "food_shortage": "缺粮",
    "urgent_check": "紧急情况",
}
CATEGORIES = tuple(CATEGORY_NAMES)

_PHONE_CHARS = re.compile(r"^[0-9０-９+＋()（）\- ]+\Z")
_EXTENSION = re.compile(r"^(.*?)\s*(?:转|ext\.?|#)\s*(\d{1,6})\Z", re.IGNORECASE)
_MOBILE = re.compile(r"^1[3-9]\d{9}\Z")
# area code 0 + 2-3 digits, then a 7-8 digit local number that does not start with 0 or 1
_LANDLINE = re.compile(r"^0[1-9]\d{1,2}[2-9]\d{6,7}\Z")
_LOCAL = re.compile(r"^[2-9]\d{6,7}\Z")
_SERVICE = re.compile(r"^[48]00\d{7}\Z")


def id_number(value, field="id_number"):
    """The 18-character form of a resident ID number (full-width digits, a lowercase x and the
    old 15 digits accepted), or InvalidChange if its check character or birth date is wrong."""
    number = normalize_id_number(value)
    if number is None or not is_valid_id_number(number):
        raise InvalidChange(f"{field} is not a valid resident ID number (18 characters, the last a digit or X, "
                            "with a right check character and birth date)", field=field, code="invalid_id_number")
    return number


def phone(value, field="phone"):
    """A mainland mobile (11 digits from 13…19…), a landline with or without its area code, a
    400/800 number, optionally +86 before and an extension (转 / ext / #) after. Returned as
    typed (trimmed): the comparable digits are derived where they are compared."""
    main = value
    m = _EXTENSION.match(value)
    if m:
        main = m.group(1)
    digits = re.sub(r"\D", "", normalize_width(main))
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if not (_PHONE_CHARS.match(main) and (_MOBILE.match(digits) or _LANDLINE.match(digits)
                                          or _LOCAL.match(digits) or _SERVICE.match(digits))):
        raise InvalidChange(f"{field} is not a phone number (a mobile 1xxxxxxxxxx or a landline "
                            "such as 010-12345678)", field=field, code="invalid_phone")
    return value


def normalize_width(text):
    return text.translate(_FULLWIDTH)


_FULLWIDTH = {0xFF10 + i: 0x30 + i for i in range(10)}


def not_in_future(field, iso, now_ms, *, allow_s=MAX_FUTURE_S):
    """``iso`` (a UTC date-time, already checked) may be at most ``allow_s`` ahead of now."""
    when = _dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    if when.timestamp() * 1000 > now_ms + allow_s * 1000:
        raise InvalidChange(f"{field} is in the future; check the date (and the device's clock)", field=field,
                            code="date_in_future")


def household_born_ms(stamps):
    """When a household came into being as a replica knows it: the wall time of its earliest
    field stamp (the change that created it stamped every field it set; a later edit re-stamps
    only what it changed). None for a household with no stamps."""
    walls = [int(s[:13]) for s in (stamps or {}).values() if isinstance(s, str) and s[:13].isdigit()]
    return min(walls) if walls else None


def not_before_household(field, iso, born_ms, *, allow_s=MAX_FUTURE_S):
    """``iso`` (a UTC date-time, already checked) may not be before the household existed,
    less ``allow_s``: the household may have been stamped by another device whose clock ran
    ahead by up to the allowed skew, and a worker may enter a visit a little after the door."""
    if born_ms is None:
        return
    when = _dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    if when.timestamp() * 1000 < born_ms - allow_s * 1000:
        raise InvalidChange(f"{field} is before the household was registered; check the date (and the device's "
                            "clock)", field=field, code="before_household")


def birth_date(field, iso, now_ms):
    """A birth date (already checked as a date) within a human life: not after today, not more
    than MAX_AGE_YEARS ago. Today is the checking replica's UTC day, plus a day for time zones."""
    born = _dt.date.fromisoformat(iso)
    today = _dt.datetime.fromtimestamp(now_ms / 1000, _dt.timezone.utc).date()
    if born > today + _dt.timedelta(days=1):
        raise InvalidChange(f"{field} is in the future", field=field, code="date_in_future")
    if born.year < today.year - MAX_AGE_YEARS:
        raise InvalidChange(f"{field} is more than {MAX_AGE_YEARS} years ago", field=field,
                            code="birth_date_too_old", params={"years": MAX_AGE_YEARS})


def categories(settings=None):
    """``{code: Chinese name}`` of the flag categories a city uses: the common ones and those its
    settings add (a list of codes or a code -> name object)."""
    extra = (settings or {}).get("flag_categories") or {}
    if isinstance(extra, list):
        extra = {code: code for code in extra if isinstance(code, str)}
    return {**CATEGORY_NAMES, **{k: v for k, v in extra.items() if isinstance(k, str) and isinstance(v, str)}}


def category(value, settings=None, field="category"):
    known = categories(settings)
    if value not in known and value not in known.values():
        raise InvalidChange(f"{field} {value[:40]!r} is not a flag category of this city; the categories are: "
                            + ", ".join(categories(settings)), field=field, code="unknown_category")
    return value


def now_ms():
    """The checking replica's clock, when its caller hands none."""
    return time.time_ns() // 1_000_000


def check(entity, fields, *, settings=None, now=None):
    """Every rule that concerns ``fields`` (already type-checked) of ``entity``; raises the first
    refusal. ``now``: the checking replica's wall clock in ms (default: read it)."""
    now = now_ms() if now is None else now
    for name in ("id_number",):
        if fields.get(name):
            fields[name] = id_number(fields[name], name)
    if fields.get("phone"):
        phone(fields["phone"])
    if entity == "person" and fields.get("birth_date"):
        birth_date("birth_date", fields["birth_date"], now)
    elif entity == "visit" and fields.get("visited_at"):
        not_in_future("visited_at", fields["visited_at"], now)
    elif entity == "flag" and fields.get("category") is not None:
        category(fields["category"], settings)
    return fields

"""Identity normalisation: the comparable form of ID numbers and phones, and how they are masked."""
import datetime as _dt
import re
import unicodedata

from stdnum.cn import ric
from stdnum.exceptions import ValidationError as _StdnumError

_NOT_DIGIT = re.compile(r"\D")
_CANONICAL_ID = re.compile(r"^\d{17}[\dX]\Z", re.ASCII)


def _halfwidth(text):
    # NFKC folds full-width digits and letters (０-９, ｘ) to their ASCII forms.
    return unicodedata.normalize("NFKC", text)


def normalize_id_number(raw):
    """The 18-character form of a resident ID number, or None if it cannot be one.

    Full-width digits and a lowercase x are the same number; a 15-digit number (issued before
    1999) is upgraded to 18 by adding the century and the check character.
    """
    if not raw:
        return None
    if _CANONICAL_ID.match(raw):
        return raw
    number = ric.compact(_halfwidth(raw).replace(" ", "").replace("-", ""))
    if len(number) == 15 and number.isdigit():
        body = number[:6] + "19" + number[6:]
        number = body + ric.calc_check_digit(body + "0")
    if len(number) != 18 or not number[:17].isdigit() or number[17] not in "0123456789X":
        return None
    return number


def is_valid_id_number(raw):
    """True when the number has the right check character and a real birth date."""
    number = normalize_id_number(raw)
    if number is None:
        return False
    try:
        if number[-1] != ric.calc_check_digit(number):
            return False
        if _CANONICAL_ID.match(number):
            # what ric.get_birth_date does once its clean-up has nothing to clean (ASCII digits),
            # without walking the number through stdnum's character map three times
            _dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
        else:
            ric.get_birth_date(number)
    except (_StdnumError, ValueError):
        return False
    return True


def normalize_phone(raw):
    """Digits only, without a +86 / 0086 country prefix; None if nothing is left."""
    if not raw:
        return None
    digits = _NOT_DIGIT.sub("", _halfwidth(raw))
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) == 11:
            digits = digits[len(prefix):]
    return digits or None


def mask_id_number(value):
    """``110***********0015``: enough for a person to recognise, not to reuse."""
    if not value:
        return value
    value = normalize_id_number(value) or value
    return value[:3] + "*" * max(len(value) - 7, 0) + value[-4:] if len(value) > 7 else "*" * len(value)


def mask_phone(value):
    if not value:
        return value
    digits = normalize_phone(value) or value
    return digits[:3] + "****" + digits[-4:] if len(digits) >= 11 else "*" * len(digits)


def mask_name(value):
    """``王*`` / ``欧阳**``-style initialling for lists that must not name people: the family name's
    first character stays, the rest is starred; a Latin name keeps its initials (``W. W.``)."""
    if not value:
        return value
    value = value.strip()
    if value.isascii():
        return " ".join(part[0].upper() + "." for part in value.split() if part)
    return value[0] + "*" * max(len(value) - 1, 1)


NORMALIZERS = {"id_number": normalize_id_number, "phone": normalize_phone}
MASKS = {"id_number": mask_id_number, "phone": mask_phone}

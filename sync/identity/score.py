"""Scoring a pair of person records, Fellegi–Sunter style, and the rules that overrule the score.

Each field is compared into an agreement level; each level has an m probability (how often two
records of the *same* person show it) and a u probability (how often two records of *different*
persons show it); the level adds ``log2(m / u)`` to the pair's score, and a missing field adds 0.
The sum is the log-likelihood ratio of "same person" over "different persons" in bits.

The m/u values below were set by reasoning about how records are typed and then checked on the
generated population of ``bench/linkage`` (see its README): u of an exact name is the name's own
frequency when a frequency table is available (``NameFrequency``; 王伟 is far more common than
欧阳娜娜), else ``DEFAULT_NAME_U``.

=======  ==================  ======  =======  ========  =========================================
field    level               m       u        weight    why
=======  ==================  ======  =======  ========  =========================================
id       exact (valid)       0.93    1e-7     +23.1     a valid number is one person in ~10^7
id       exact (unchecked)   0.03    1e-8     +21.5     both the same 15-digit number (no check
                                                          character), or the same slip twice
id       close               0.05    1e-6     +15.6     one digit, a swap, or the check character
id       exact_foreign       0.01    1e-6     +13.3     both carry one family member's number
id       different           0.02    1.0      -5.6
name     exact               0.88    freq     ~+8..+13  0.001 when no frequency table (+9.8)
name     homophone           0.06    5e-4     +6.9      same toneless pinyin, other characters
name     fuzzy               0.03    1e-3     +4.9      same after zh/z, n/l, ang/an… folding
name     transposed          0.015   1e-4     +7.2      徐妍琪 / 徐琪妍 (``names.name_variant``)
name     dropped             0.02    1e-4     +7.6      王涵安 / 王涵
name     surname_near        0.015   5e-4     +4.9      刘明 / 牛明, 黄丽 / 王丽
name     nickname            0.01    2e-3     +2.3      小明 / 阿明 / 明明 for 李明
name     different           0.03    1.0      -5.1
birth    exact               0.94    3.4e-5   +14.8     one day in ~80 years
birth    close               0.04    1e-3     +5.3      one digit / swap / day↔month, same decade;
                                                          the lunar birthday; the year one or ten
                                                          off with the day right
birth    year                0.02    0.015    +0.4      a year typed alone, the same year
birth    implied             -       -        0         both read from the one number they share
birth    different           0.02    1.0      -5.6
gender   agree               0.98    0.5      +1.0
gender   different           0.02    0.5      -4.6
phone    exact               0.85    1e-4     +13.1     u high for a number: families share one;
                                                          a landline with and without its area
                                                          code is one number
phone    close               0.03    1e-4     +8.2
phone    different           0.12    1.0      -3.1      people change numbers
phone    shared              0.85    1e-2     +6.4      a phone the register shows on several
                                                          persons: the household's
phone    other-shared        -       -        0         two phones, one of them a household's:
                                                          a member's own against the family's
address  exact               0.60    1e-3     +9.2      u: one household among ~1,000 nearby
address  close               0.25    3e-3     +6.4
address  partial             0.06    3e-2     +1.0      same building and unit, the room on one
                                                          side only (a staircase, not a door)
address  different           0.15    1.0      -2.7      people move; addresses are typed loosely
=======  ==================  ======  =======  ========  =========================================

Thresholds: ``SAME_AT`` = 20 bits, ``MAYBE_AT`` = 10 bits; in a register over ``BASE_REGISTER``
both rise by ``NameFrequency.size_bits`` (rule 6), so the review queue does not grow with the
register faster than its size.

Rules that overrule the score (look-alikes that are different people):

1. Two *valid* ID numbers that differ are two people (a twin's number differs from its sibling's
   in the sequence digits): ``new``; only a one-digit slip between the 17-digit bodies with the
   name agreeing and the birth date not contradicting makes it ``maybe``.
2. Names both present and different: never ``same``; without an ID number in common, ``new``
   (twins, siblings, a spouse share the birth date, the phone and the door).
3. Birth dates both present and different (more than a typing slip, or a decade apart: a parent
   and child with the same name): never ``same``.
4. Same name in the same household with birth dates that differ even by one digit: never
   ``same`` (a parent and child named alike).
5. Evidence: ``same`` needs an ID number that agrees (the same number alone is enough, a
   nearly equal one needs the name), or a name agreeing in characters or pinyin together with
   the birth date, or the phone, or a birth date one slip away (or a year) and the address. Two
   王伟 of one community that share only the name, the gender and the address are not the
   same person. Inside one household, and in a register over ``BASE_REGISTER`` for a record
   with neither birth date nor number, name and phone alone are not enough (a son entered
   without birth date or ID number who has his father's name and the household's phone). A
   fuzzy (accent-folded) name, a dropped character or a nickname is what a twin's name can
   look like: the first two need the ID number; a nickname the birth date, door and gender. A
   transposed name or a near-homophone surname needs the birth date and the phone or door.
   Under one number, a name typed another way also needs a birth date typed on one side (a
   family member's number on a record without one cannot be told).
6. Register size: unless the ID numbers are equal, ``same`` needs ``SAME_AT`` plus
   ``log2(N / 10,000)`` bits in a register of N > 10,000 persons (``NameFrequency.size_bits``):
   among a million people two 王伟 born on one day are to be expected, among a grid worker's
   three thousand they are not.
7. Same if it is the only candidate (``ONLY_CANDIDATE``, a ``maybe`` by its score or by rule
   5): with no ID number in common, the name agreeing and the birth date (a common name also
   needs the door or a phone), or the name, a birth date one slip off or a year, and the door
   or a phone; or a transposed name, a near surname or a nickname with the birth date and the
   door, staircase or a phone. Batch linkage joins such a pair only when neither record fits a
   third cluster that way and the two clusters do not hold both genders; a device answers
   ``same`` when it is the only candidate whose name fits (``match._decide``). A twin typed
   under a nickname fits both twins and joins neither. Not on this footing: a record with
   neither birth date nor number (name, door and phone are a father's and his namesake son's
   alike), a dropped character or an accent slip (a twin's name can look like that: 李远雨 /
   李玉, 李晨 / 李程).
"""
from math import log2

from rapidfuzz.distance import OSA

from .address import compare_parsed
from .dates import compare_dates
from .names import name_variant

SAME, MAYBE, NEW = "same", "maybe", "new"
#: The rule of a ``maybe`` pair that is the same person when it is the only one that fits:
#: when neither record has another candidate of this kind (a second cluster of the name at the
#: door, a twin born the same day), batch linkage joins them and a device answers ``same``.
ONLY_CANDIDATE = "same-if-only-candidate"
NAME_VARIANTS = ("transposed", "surname_near", "nickname")
SAME_AT, MAYBE_AT = 20.0, 10.0
#: More bits a pair needs in a register over BASE_REGISTER when it has only a common name (see
#: ``NameFrequency.common``), a birth date and a gender to go on (no number, phone or address
#: that agrees): two 李静 of a city born on one day are not rare.
ALONE_BITS = 4.0
COMMON_PER_10K = 2
DEFAULT_NAME_U = 1e-3
BASE_REGISTER = 10000


def _w(m, u):
    return log2(m / u)


W_ID = {"exact": _w(0.93, 1e-7), "exact_unchecked": _w(0.03, 1e-8), "close": _w(0.05, 1e-6),
        "exact_foreign": _w(0.01, 1e-6), "different": _w(0.02, 1.0)}
W_NAME_EXACT_M = 0.88
W_NAME = {"homophone": _w(0.06, 5e-4), "fuzzy": _w(0.03, 1e-3), "transposed": _w(0.015, 1e-4),
          "dropped": _w(0.02, 1e-4), "surname_near": _w(0.015, 5e-4), "nickname": _w(0.01, 2e-3),
          "different": _w(0.03, 1.0)}
W_BIRTH = {"exact": _w(0.94, 3.4e-5), "close": _w(0.04, 1e-3), "year": _w(0.02, 0.015), "implied": 0.0,
           "different": _w(0.02, 1.0)}
W_PHONE_SHARED = _w(0.85, 1e-2)      # a household's phone: it says "same family", not "same person"
#: Two phones that differ where one is a household's (``shared_phones``): a member's own number
#: against the family's says nothing either way.
W_PHONE_OTHER_SHARED = 0.0
W_GENDER = {"agree": _w(0.98, 0.5), "different": _w(0.02, 0.5)}
W_PHONE = {"exact": _w(0.85, 1e-4), "close": _w(0.03, 1e-4), "different": _w(0.12, 1.0)}
W_ADDRESS = {"exact": _w(0.60, 1e-3), "close": _w(0.25, 3e-3), "partial": _w(0.06, 3e-2),
             "different": _w(0.15, 1.0)}


class NameFrequency:
    """u of an exact name agreement: the name's share of the register, smoothed towards
    ``DEFAULT_NAME_U`` by ``prior`` pseudo-records so that a small register says little."""

    def __init__(self, counts=None, total=0, prior=10000, shared_phones=frozenset(), register_size=None):
        self.counts = counts if counts is not None else {}
        self.total, self.prior = total, prior
        self.shared_phones = shared_phones     # phones a register shows on several persons' records
        # the register's size when its name counts are not at hand (the server's linker sees
        # only the candidates): it sets ``size_bits``, the names keep the default weight
        self.register_size = register_size

    def add(self, name, n=1):
        if name:
            self.counts[name] = self.counts.get(name, 0) + n
            self.total += n

    def remove(self, name):
        if name and self.counts.get(name):
            self.counts[name] -= 1
            self.total -= 1
            if not self.counts[name]:
                del self.counts[name]

    @property
    def size_bits(self):
        """How much more evidence a link needs in a register of this size than in one of
        ``BASE_REGISTER`` records: log2(total / BASE_REGISTER), at least 0. The larger the
        register, the likelier two different people share a name and a birth date by chance
        (two 王伟 born on one day among a million people), so the prior odds of any one pair
        being the same person fall as 1/N."""
        size = self.register_size or self.total
        return max(0.0, log2(size / BASE_REGISTER)) if size > BASE_REGISTER else 0.0

    def common(self, name):
        """A name held by at least ``COMMON_PER_10K`` in 10,000 records of a register over
        ``BASE_REGISTER`` (李静, 王伟; not 欧阳娜娜)."""
        return self.total > BASE_REGISTER and self.counts.get(name, 0) * BASE_REGISTER >= COMMON_PER_10K * self.total

    def u(self, name):
        count = self.counts.get(name, 0)
        return max((count + self.prior * DEFAULT_NAME_U) / (self.total + self.prior), 1e-6)

    def weight(self, name):
        return _w(W_NAME_EXACT_M, self.u(name))


_DEFAULT_NAME_W = _w(W_NAME_EXACT_M, DEFAULT_NAME_U)


def id_level(a, b):
    """ID agreement of two feature records: exact / exact_unchecked / close / different /
    valid_near (two valid numbers one slip apart) / valid_different; None when either is missing
    or when one is a family member's number (``id_foreign``: it says nothing about this person;
    two records both carrying the same family member's number: ``exact_foreign``, evidence
    only with the name agreeing, as siblings carry it too)."""
    x, y = a.id18, b.id18
    if not x or not y or a.id_foreign != b.id_foreign:
        return None
    if a.id_foreign:
        return "exact_foreign" if x == y else None
    if x == y:
        return "exact" if a.id_valid or b.id_valid else "exact_unchecked"
    if x[:17] == y[:17]:
        return "valid_different" if a.id_valid and b.id_valid else "close"
    near = OSA.distance(x[:17], y[:17], score_cutoff=1) <= 1
    if a.id_valid and b.id_valid:
        return "valid_near" if near else "valid_different"
    return "close" if near or OSA.distance(x, y, score_cutoff=1) <= 1 else "different"


def name_level(a, b):
    if not a.name or not b.name:
        return None
    if a.name == b.name:
        return "exact"
    if a.py == b.py or (a.py2 and a.py2 in (b.py, b.py2)) or (b.py2 and b.py2 == a.py):
        return "homophone"
    variant = name_variant(a.name, b.name)
    if a.fz == b.fz:
        # an accent slip in the surname alone (刘 / 牛 with the same given name) is the
        # near-homophone surname; elsewhere in the name it is weaker
        return variant if variant == "surname_near" else "fuzzy"
    return variant or "different"


def birth_level(a, b):
    """``compare_dates`` of two birth dates (``YYYY-MM-DD``); of two records' features: also a
    year typed alone against the other's date or year (``year``, or ``different``)."""
    if isinstance(a, str) or a is None:
        return compare_dates(a, b)
    if a.birth and b.birth:
        return compare_dates(a.birth, b.birth)
    ya, yb = a.byear or a.birth[:4], b.byear or b.birth[:4]
    if not ya or not yb:
        return None
    return "year" if ya == yb else "different"


def phone_level(x, y):
    if not x or not y:
        return None
    if x == y:
        return "exact"
    if len(x) != len(y):
        # a landline with its area code and without it (0576-88123456 / 88123456)
        short, long_ = (x, y) if len(x) < len(y) else (y, x)
        if long_[0] == "0" and len(short) in (7, 8) and 10 <= len(long_) <= 12 and long_.endswith(short):
            return "exact"
    if len(x) == len(y) and OSA.distance(x, y, score_cutoff=1) <= 1:
        return "close"
    return "different"


def compare(a, b, names=None):
    """Score two feature records: ``(kind, score, levels, rule)``.

    ``levels`` maps each compared field to its level; ``rule`` names the rule that overruled the
    score, or None. ``names`` is an optional ``NameFrequency``.
    """
    levels = {}
    score = 0.0
    idl = id_level(a, b)
    if idl is not None:
        levels["id"] = idl
        score += W_ID.get(idl, W_ID["different"])
    nl = name_level(a, b)
    if nl is not None:
        levels["name"] = nl
        if nl == "exact":
            score += names.weight(a.name) if names is not None else _DEFAULT_NAME_W
        else:
            score += W_NAME[nl]
    bl = birth_level(a, b)
    if bl is not None and idl == "close" and (a.birth_from_id or b.birth_from_id) and bl != "exact":
        bl = None            # read from a number with a slip in it: the slip may be in the date
    if bl == "exact" and idl in ("exact", "exact_unchecked", "exact_foreign") and a.birth_from_id and b.birth_from_id:
        bl = "implied"       # both read from the one number: no evidence beyond the number's
    elif bl in ("close", "different", "year") and idl in ("exact", "exact_unchecked"):
        bl = "exact"         # both typed dates fit the one number (else it would be foreign): slips
    if bl is not None:
        levels["birth"] = bl
        score += W_BIRTH[bl]
    if a.gender and b.gender:
        gl = "agree" if a.gender == b.gender else "different"
        levels["gender"] = gl
        score += W_GENDER[gl]
    pl = phone_level(a.phone, b.phone)
    if pl == "exact" and names is not None and a.phone in names.shared_phones:
        levels["phone"] = "shared"
        score += W_PHONE_SHARED
    elif pl == "different" and names is not None and (a.phone in names.shared_phones or
                                                     b.phone in names.shared_phones):
        levels["phone"] = "other-shared"
        score += W_PHONE_OTHER_SHARED
    elif pl is not None:
        levels["phone"] = pl
        score += W_PHONE[pl]
    if a.address is not None and b.address is not None:
        al = compare_parsed(a.address, b.address)
        levels["address"] = al
        score += W_ADDRESS[al]
    size_bits = names.size_bits if names is not None else 0.0
    common = names is not None and (names.common(a.name) or names.common(b.name))
    if size_bits and common and idl is None and levels.get("phone") not in ("exact", "close", "shared") and \
            levels.get("address") not in ("exact", "close", "partial"):
        size_bits += ALONE_BITS   # nothing in common but the name, the birth date and the gender
    kind, rule = verdict(score, levels, a.household_id is not None and a.household_id == b.household_id, size_bits,
                         common)
    return kind, score, levels, rule


def verdict(score, levels, same_household=False, size_bits=0.0, common=False):
    """``(kind, rule)`` from a score and the field levels, the look-alike rules applied.

    ``size_bits``: added to ``SAME_AT`` unless the ID numbers are equal (see
    ``NameFrequency.size_bits``)."""
    idl, nl, bl = levels.get("id"), levels.get("name"), levels.get("birth")
    name_agrees = nl in ("exact", "homophone")
    at_door = levels.get("address") in ("exact", "close")
    own_phone = levels.get("phone") == "exact" and not same_household
    if idl in ("valid_near", "valid_different"):
        if idl == "valid_near" and nl in ("exact", "homophone", "fuzzy") and bl in ("exact", "close", None):
            return MAYBE, "valid-ids-differ-by-one-slip"
        return NEW, "valid-ids-differ"
    rule = None
    if nl == "different":
        rule = "names-differ"
    elif bl == "different":
        rule = "birth-dates-differ"
    elif bl == "close" and same_household and nl == "exact":
        rule = "same-name-same-household-other-birth-date"
    elif not (
            # the same number: enough with the name agreeing or missing; a name typed another
            # way also needs a birth date typed on one record (a family member's number on a
            # record without one cannot be told)
            (idl in ("exact", "exact_unchecked") and (nl in (None, "exact", "homophone") or bl != "implied"))
            or (idl == "exact_foreign" and nl in (None, "exact", "homophone"))
            or (idl == "close" and nl in ("exact", "homophone", "fuzzy"))
            # no number: the name, and the birth date (or a year, or a slip in it, with the
            # person's own phone or the door); in a register over BASE_REGISTER a record with
            # neither birth date nor number is never "same" (a father and his namesake son share
            # the name, the phone and the door; a device's few thousand know the households)
            or (name_agrees and (bl == "exact" or (own_phone and (bl is not None or not size_bits))
                                 or (bl in ("close", "year") and at_door)))
            # the given name in another order or a near-homophone surname: a twin's name is
            # neither, but a dropped character, an accent slip or a nickname can be (李远雨 /
            # 李玉): those need the number
            or (nl in ("transposed", "surname_near") and bl == "exact" and (own_phone or at_door))
            # a nickname (小明 for 李明) in an informal list: the birth date, the door and the gender
            or (nl == "nickname" and bl == "exact" and at_door and levels.get("gender") == "agree")):
        rule = "not-enough-evidence"
    if rule is None and score >= (SAME_AT if idl in ("exact", "exact_unchecked") else SAME_AT + size_bits):
        return SAME, None
    context = at_door or levels.get("phone") in ("exact", "shared")
    if rule in (None, "not-enough-evidence") and idl is None and score >= MAYBE_AT + size_bits and (
            # the name and the birth date, short of the bits a large register asks for: a common
            # name (two 李娜 of a city born on one day) also needs the door or a phone
            (name_agrees and bl == "exact" and (not common or context))
            # the name, a birth date one slip away or a year, and the door or a phone (two 王伟
            # of a city born a digit apart are common; a father and son differ in the year)
            or (name_agrees and bl in ("close", "year") and context)
            # a name typed another way (the given name's characters swapped, a near surname, a
            # nickname) with the birth date and the staircase, door or a phone, when nothing else
            # fits: a stranger's name born the same day in a city can look like that (刘娜 /
            # 李娜). Not a dropped character or an accent slip: a twin's name can look like
            # those (李远雨 / 李玉, 李晨 / 李程) and a twin may have no other record to tell it
            or (nl in NAME_VARIANTS and bl == "exact" and (context or levels.get("address") == "partial"))):
        return MAYBE, ONLY_CANDIDATE
    if rule == "names-differ" and idl is None:
        return NEW, rule     # twins, siblings, a spouse: the birth date, phone and door are the family's
    if score >= MAYBE_AT + size_bits:      # a larger register asks about fewer weak pairs, as it links fewer
        return MAYBE, rule
    return NEW, rule


def reasons(levels, rule):
    """Readable reasons: ``("id=exact", "name=homophone", …, "rule:birth-dates-differ")``."""
    out = tuple(f"{field}={level}" for field, level in levels.items())
    return out + (f"rule:{rule}",) if rule else out

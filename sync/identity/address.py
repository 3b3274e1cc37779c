"""Addresses: one comparable spelling of the many ways a door is written.

The same flat is typed as ``幸福小区5栋3单元501``, ``幸福小区 五幢三单元501室``, ``幸福小区5-3-501``
or ``朝阳区幸福小区5座3单元501号``. ``parse_address`` folds them all to

* ``text``: the words, full-width folded, spaces and punctuation removed (``幸福小区``);
* ``parts``: the numbered parts, each under one canonical word: ``号`` (door number on the
  road), ``栋`` (栋 = 幢 = 座 = 号楼 = #), ``单元`` (单元 = 门), ``层`` (层, or 楼 after a
  number when it is not a building), ``室`` (室 = 房 = 户, a ``号`` after a building or unit, or
  the last bare number of ``5-3-501``), ``弄``, ``组`` (a village group: 组 = 村民小组 = 小组 =
  队 = 社; a bare number after it is the door, ``5组12`` = ``5组12号``);

with Chinese numerals turned into Arabic ones (``五`` → 5, ``二十三`` → 23, ``一〇二`` → 102,
``一百零五`` → 105) everywhere, words included (``三里屯`` → ``3里屯``, on both sides alike).

``canonical`` is the text followed by the parts in a fixed order: equal canonicals are the same
door. ``key`` is the part that identifies a door inside one grid, for blocking households:
building / unit / room when there are any, else every number, else the text. ``compare_addresses``
tells ``exact`` / ``close`` / ``different``; ``tokens`` (text bigrams and numbered parts) give a
Jaccard ``address_similarity`` for ranking.
"""
import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

_CN_DIGITS = {"〇": 0, "零": 0, "○": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
              "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_RUN = re.compile(r"[〇零○一二两三四五六七八九十百千]+")
# 两 only counts as a numeral before a unit word or another numeral (两路口 stays as it is).
_SPACES = re.compile(r"[\s\u3000]+")
_PUNCT = re.compile(r"[,，、;；:：()（）\[\]【】\"'“”‘’·•。.!！?？]+")
_DASHES = re.compile(r"\s*[-‐‑‒–—―~～_/]+\s*")

_UNIT_WORDS = {
    "号楼": "栋", "栋": "栋", "幢": "栋", "座": "栋", "#楼": "栋", "#": "栋", "号院": "号",
    "单元": "单元", "门": "单元",
    "层": "层", "楼": "层",
    "室": "室", "房": "室", "户": "室",
    "号": "号", "弄": "弄", "组": "组", "村民小组": "组", "小组": "组", "队": "组", "社": "组",
}
_TOKEN = re.compile(
    r"第?(?P<num>\d+)(?P<unit>号楼|号院|#楼|栋|幢|座|#|单元|门|层|楼|室|房|户|号|弄|组|村民小组|小组|队|社)?"
    r"|(?P<letter>[a-z])(?P<lunit>号楼|栋|幢|座|#|单元)")
ORDER = ("弄", "号", "组", "栋", "单元", "层", "室")
_HIER = ("栋", "单元", "室")


def cn_numeral(run):
    """``五`` → 5, ``二十三`` → 23, ``一〇二`` → 102 (read digit by digit), ``一百零五`` → 105."""
    if not any(c in _CN_UNITS for c in run):
        return int("".join(str(_CN_DIGITS[c]) for c in run))
    total, current = 0, 0
    for c in run:
        if c in _CN_UNITS:
            total += (current or 1) * _CN_UNITS[c]
            current = 0
        else:
            current = current * 10 + _CN_DIGITS[c] if current else _CN_DIGITS[c]
    return total + current


def _replace_numerals(text):
    def repl(match):
        run = match.group()
        if run == "两":
            nxt = text[match.end():match.end() + 1]
            if not nxt or nxt not in "栋幢座单元门层楼室号":
                return run
        return str(cn_numeral(run))
    return _CN_RUN.sub(repl, text)


def fold_text(raw):
    """Full-width folded (NFKC), lowercased, Chinese numerals to Arabic, no spaces or punctuation;
    dashes between numbers kept as ``-`` (they carry building-unit-room)."""
    text = unicodedata.normalize("NFKC", raw).lower()
    text = _replace_numerals(text)
    text = _DASHES.sub("-", text)
    text = _PUNCT.sub("", _SPACES.sub("", text))
    return text.strip("-")


class Address(NamedTuple):
    """A parsed address: ``text``, ``parts`` ({canonical word: number}), ``canonical``, ``key``."""
    text: str
    parts: dict
    canonical: str
    key: str

    @classmethod
    def build(cls, text, parts):
        canonical = text + "".join(f"{parts[unit]}{unit}" for unit in ORDER if unit in parts)
        door = [f"{u}{parts[u]}" for u in _HIER if u in parts]
        if door:
            key = "|".join(door)
        elif parts:
            key = "|".join(f"{u}{parts[u]}" for u in ORDER if u in parts)
        else:
            key = text
        return cls(text, parts, canonical, key)

    @property
    def tokens(self):
        """Character bigrams of the text and the numbered parts (``栋5``), for similarity."""
        text = self.text
        grams = {text[i:i + 2] for i in range(len(text) - 1)} if len(text) > 1 else {text} if text else set()
        return frozenset(grams | {f"{u}{v}" for u, v in self.parts.items()})


def _assign_bare(bare, last_typed, parts, before=None):
    """Numbers typed without a word (``5-3-501``, the trailing ``501`` of ``5栋3单元501``) fill
    the door hierarchy 栋 → 单元 → 室 after the last named part, the last number being the room;
    ``before`` a named unit of that hierarchy (``5-3-501室``, ``5-3单元``) they fill the parts
    above it, the building first."""
    if before in ("单元", "室"):
        start = _HIER.index(last_typed) + 1 if last_typed in _HIER else 0
        available = _HIER[start:_HIER.index(before)]
        if available:
            take = bare[-len(available):] if len(bare) >= len(available) else bare
            for value, unit in zip(take, available):
                parts.setdefault(unit, value)
            return
    if last_typed in ("组", "弄") and "号" not in parts and len(bare) == 1:
        parts["号"] = bare[0]                               # 5组12, 3弄12: the door in the group or lane
        return
    if last_typed is None and not parts and len(bare) == 1:
        parts.setdefault("号", bare[0])                     # 解放路12: a door number on the road
        return
    available = _HIER[_HIER.index(last_typed) + 1:] if last_typed in _HIER else _HIER
    if not available:
        return
    k = len(bare)
    if k >= len(available):
        slots = available
        if k > len(available) and "号" not in parts and last_typed is None:
            parts["号"] = bare[k - len(available) - 1]
    elif k == 1:
        slots = ("室",)
    elif k == 2 and available == _HIER:
        slots = ("栋", "室")
    else:
        slots = available[-k:]
    for value, unit in zip(bare[-len(slots):], slots):
        parts.setdefault(unit, value)


@lru_cache(maxsize=131072)
def _parse(folded):
    text_parts, parts, bare = [], {}, []
    last_typed = None
    pos = 0
    for match in _TOKEN.finditer(folded):
        between = folded[pos:match.start()]
        if between.strip("-"):
            if bare:
                _assign_bare(bare, last_typed, parts)
                bare = []
            text_parts.append(between.replace("-", ""))
        pos = match.end()
        if match.group("letter"):
            value, word = match.group("letter"), match.group("lunit")
        else:
            value, word = str(int(match.group("num"))), match.group("unit")
        if word is None:
            after = folded[pos:pos + 1]
            if after and after != "-":
                text_parts.append(match.group())            # 3里屯: a number inside a name
                continue
            bare.append(value)
            continue
        unit = _UNIT_WORDS[word]
        if bare:
            _assign_bare(bare, last_typed, parts, before=unit)
            bare = []
        if word == "楼" and re.match(r"\d+单元", folded[pos:]):
            unit = "栋"                                     # 5楼3单元: 楼 names the building
        if unit == "号" and (last_typed in ("栋", "单元") or "栋" in parts):
            unit = "室"                                     # 3单元501号: 号 names the room
        if unit in parts:
            if unit == "号" and "栋" not in parts:
                unit = "栋"                                 # 路12号5号: the second 号 is a building
            else:
                continue
        parts[unit] = value
        last_typed = unit
    tail = folded[pos:]
    if bare:
        if tail.strip("-"):
            text_parts.extend(bare)
        else:
            _assign_bare(bare, last_typed, parts)
    text_parts.append(tail.replace("-", ""))
    if "室" in parts:
        parts.pop("层", None)                               # the room number already says the floor
    return Address.build("".join(text_parts), parts)


# The common shapes of a door at the end of an address, split off so that the words before
# it (street, community: shared by hundreds of households) are parsed once and cached.
_DOOR_TAIL = re.compile(r"^(.*?)(\d+)(栋|幢|座|号楼|#楼|#|楼)(\d+)(单元|门)(\d+)(室|号|房|户)?$")
_DASH_TAIL = re.compile(r"^(.*?)(\d+)-(\d+)-(\d+)$")
_DOOR_PARTS = frozenset(("栋", "单元", "层", "室"))


def _parse_fast(folded):
    """``_parse`` for ``…5栋3单元501(室)`` and ``…5-3-501``: the same result, faster."""
    match = _DOOR_TAIL.match(folded)
    if match:
        head, building, unit, room = match.group(1), match.group(2), match.group(4), match.group(6)
    else:
        match = _DASH_TAIL.match(folded)
        if not match:
            return _parse(folded)
        head, building, unit, room = match.groups()
    if head and (head[-1].isdigit() or head[-1] in "-第" or "-" in head):
        return _parse(folded)          # a dash before the door (5-幸福…) reads with what follows
    prefix = _parse(head) if head else None
    if prefix is not None and _DOOR_PARTS & prefix.parts.keys():
        return _parse(folded)
    parts = dict(prefix.parts) if prefix is not None else {}
    parts["栋"], parts["单元"], parts["室"] = str(int(building)), str(int(unit)), str(int(room))
    return Address.build(prefix.text if prefix is not None else "", parts)


def parse_address(raw):
    """The parsed form of an address, or None when it is empty."""
    if not raw or not isinstance(raw, str):
        return None
    folded = fold_text(raw)
    if not folded:
        return None
    return _parse_fast(folded)


def normalize_address(raw):
    """One spelling of an address, for ``==``: ``幸福小区5幢三单元501室`` → ``幸福小区5栋3单元501室``."""
    parsed = parse_address(raw)
    return parsed.canonical if parsed else None


def address_key(raw):
    """What identifies the door within one grid: ``栋5|单元3|室501`` (or the numbers, or the text)."""
    parsed = parse_address(raw)
    return parsed.key if parsed else None


def address_tokens(raw):
    parsed = parse_address(raw)
    return parsed.tokens if parsed else frozenset()


def household_address(household):
    """The full address of a household record: ``address`` plus its ``building``, ``unit`` and
    ``room`` fields when these are set (bare numbers get their word: 5 → 5栋)."""
    pieces = [household.get("address") or ""]
    for field, word in (("building", "栋"), ("unit", "单元"), ("room", "室")):
        value = household.get(field)
        if value:
            value = str(value).strip()
            folded = fold_text(value)
            pieces.append(value + word if folded.isdigit() or (len(folded) == 1 and folded.isalpha())
                          else value)
    return "".join(pieces)


# Agreement levels.
ADDR_EXACT, ADDR_CLOSE, ADDR_DIFFERENT = "exact", "close", "different"
#: The same building and unit (or the same door number on the road, or the same village group),
#: the room or door named on one side only (``5栋1单元`` / ``5-1-1102``, ``3弄12号`` /
#: ``3弄12号201室``, ``东山村5组`` / ``东山村5组12号``): the staircase agrees, the door is not known to.
ADDR_PARTIAL = "partial"


#: Another name of the road: 幸福路 / 幸福街 / 幸福大道 / 幸福大街 are written for one another.
_ROAD_WORDS = re.compile(r"大道|大街|街(?!道)|路")


@lru_cache(maxsize=65536)
def _texts_agree(a, b):
    if a == b or not a or not b:
        return True
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    if len(short) >= 2 and (long.endswith(short) or short in long):
        return True
    from rapidfuzz.fuzz import ratio
    if ratio(a, b) >= 80:
        return True
    ra, rb = _ROAD_WORDS.sub("路", a), _ROAD_WORDS.sub("路", b)
    return ra != a and ra == rb or (rb != b and ra == rb)


def compare_parsed(a, b):
    if a is None or b is None:
        return None
    if a.canonical == b.canonical:
        return ADDR_EXACT
    pa, pb = a.parts, b.parts
    shared = pa.keys() & pb.keys()
    if any(pa[u] != pb[u] for u in shared):
        return ADDR_DIFFERENT
    if not _texts_agree(a.text, b.text):
        return ADDR_DIFFERENT
    door = [u for u in ("栋", "单元", "室", "号", "组") if u in shared]
    named = pa.keys() | pb.keys()
    # The room is needed when either names one; otherwise the door number on the road or in a
    # village group (号) when either names one; otherwise the numbers both name must agree.
    if door and ("室" in shared or "室" not in named and ("号" in shared or "号" not in named)):
        return ADDR_CLOSE
    if not pa and not pb:
        return ADDR_CLOSE                                 # the same words, no numbers at all
    if ("栋" in shared and "单元" in shared or "号" in shared or "组" in shared) and "室" not in shared:
        return ADDR_PARTIAL                               # a room (or a door in a group) left out on one side
    return ADDR_DIFFERENT


def compare_addresses(a, b):
    """``exact`` (same canonical) / ``close`` (the numbered parts both name agree, the room
    included, and one text contains or nearly equals the other) / ``different``; None if missing."""
    return compare_parsed(parse_address(a), parse_address(b))


def address_similarity(a, b):
    """Jaccard similarity of the two addresses' tokens, 0..1."""
    ta, tb = address_tokens(a), address_tokens(b)
    if not ta or not tb:
        return 0.0
    return len(ta & tb) / len(ta | tb)

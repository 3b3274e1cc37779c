"""Personal names: the comparable form, pinyin, and a homophone-tolerant pinyin key.

Names are typed on a tablet with a pinyin input method, so the commonest error is a homophone:
the right sound, the wrong character (王伟 / 王玮, 张三 / 章三). Regional accents add near
homophones: many speakers do not separate zh/z, ch/c, sh/s, n/l, or the finals an/ang, en/eng,
in/ing, so the worker hears and types 刘 (liu) for 牛 (niu), or 陈 (chen) for 程 (cheng).

Three forms, from strict to loose, each comparable with ``==``:

* ``normalize_name``: the characters, full-width folded, spaces and punctuation removed
  (``买买提·艾力`` → ``买买提艾力``; ``王 伟`` → ``王伟``), Latin letters lowercased.
* ``name_pinyin``: the toneless pinyin syllables, joined (``王伟`` and ``王玮`` → ``wangwei``),
  each character in its everyday reading (what an input method lists it under); a surname
  with its own reading (覃 qin, 单 shan, 曾 zeng) also matches in that reading.
  A name already typed in pinyin or Latin letters gives its letters (``Wang Wei`` → ``wangwei``).
* ``fuzzy_pinyin``: the same with the accent pairs folded (``zh→z ch→c sh→s n→l ang→an
  eng→en ing→in``, also ``iang→ian``, ``uang→uan``); ``陈成`` and ``程晨`` share ``cencen``.

Traditional characters are folded to simplified ones by OpenCC (``t2s``) before anything else
(陳偉 → 陈伟): a civil-affairs list or a Hong Kong or Taiwan document is typed in traditional.

Beyond the sound, ``name_variant`` tells the other ways one person's name is typed by another
hand: a character dropped (王涵安 → 王涵), the given-name characters swapped (徐妍琪 → 徐琪妍),
a near-homophone surname with the same given name (刘 / 牛, 黄 / 王, 胡 / 符), a nickname
(小明, 阿明, 明明 for 李明). Each is weaker evidence than the name itself; ``score.py`` says how
much.
"""
import re
import unicodedata
from functools import lru_cache

#: Two-character surnames (复姓): the rest of the name is the given name.
COMPOUND_SURNAMES = frozenset(
    "欧阳 司马 诸葛 上官 东方 皇甫 尉迟 公孙 慕容 令狐 长孙 宇文 司徒 夏侯 轩辕 端木 独孤 南宫 "
    "西门 百里 呼延 万俟 单于 澹台 公冶 太史 申屠 闻人 赫连 钟离 宗政 濮阳 淳于 仲孙 第五 "
    "左丘 东郭 拓跋 完颜 司空 鲜于 闾丘 子车 亓官 司寇 巫马 公西 颛孙 壤驷 公良 漆雕 乐正 "
    "谷梁 宰父 夹谷 段干 呼衍 梁丘 东门 公羊 羊舌 微生 梁丘".split())

#: Surnames read differently from the character's everyday reading (pypinyin gives the latter).
_SURNAME_READINGS = {
    "单": ["shan"], "曾": ["zeng"], "区": ["ou"], "仇": ["qiu"], "解": ["xie"], "朴": ["piao"],
    "查": ["zha"], "盖": ["ge"], "乐": ["yue"], "覃": ["qin"], "缪": ["miao"], "翟": ["zhai"],
    "召": ["shao"], "秘": ["bi"], "员": ["yun"], "种": ["chong"], "牟": ["mou"], "宿": ["su"],
    "燕": ["yan"], "纪": ["ji"], "任": ["ren"], "华": ["hua"], "尉迟": ["yu", "chi"],
    "万俟": ["mo", "qi"], "长孙": ["zhang", "sun"], "单于": ["chan", "yu"], "乐正": ["yue", "zheng"],
}

# Everything that is not a letter or a digit of some script: spaces, dots (·•.), hyphens,
# brackets, commas. NFKC has already folded the full-width forms to ASCII.
_NOT_NAME = re.compile(r"[\W_]+", re.UNICODE)
_LATIN = re.compile(r"^[a-z]+$")

_INITIALS = ("zh", "ch", "sh", "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h", "j", "q",
             "x", "r", "z", "c", "s", "y", "w")
_FOLD_INITIAL = {"zh": "z", "ch": "c", "sh": "s", "n": "l"}
# Longest first, so iang is folded as a whole before ang.
_FOLD_FINAL = (("iang", "ian"), ("uang", "uan"), ("ang", "an"), ("eng", "en"), ("ing", "in"))


@lru_cache(maxsize=1)
def _t2s():
    import opencc
    return opencc.OpenCC("t2s").convert


@lru_cache(maxsize=262144)
def _simplified(text):
    return _t2s()(text)


def normalize_name(raw):
    """The comparable characters of a name (traditional characters made simplified), or None
    when nothing is left."""
    if not raw or not isinstance(raw, str):
        return None
    text = _NOT_NAME.sub("", unicodedata.normalize("NFKC", raw)).lower()
    if text and not text.isascii():
        text = _simplified(text)
    return text or None


def split_surname(name):
    """``(surname, given_name)`` of a normalised name; a compound surname (欧阳) is kept whole."""
    if not name:
        return "", ""
    if _LATIN.match(name):
        return "", name
    if len(name) >= 3 and name[:2] in COMPOUND_SURNAMES:
        return name[:2], name[2:]
    return name[:1], name[1:]


@lru_cache(maxsize=8192)
def fold_syllable(syllable):
    """One toneless syllable with the accent pairs folded: ``zhang`` → ``zan``, ``ning`` → ``lin``."""
    initial = ""
    for candidate in _INITIALS:
        if syllable.startswith(candidate):
            initial = candidate
            break
    final = syllable[len(initial):]
    for long, short in _FOLD_FINAL:
        if final.endswith(long):
            final = final[: len(final) - len(long)] + short
            break
    return _FOLD_INITIAL.get(initial, initial) + final


@lru_cache(maxsize=1)
def _lazy_pinyin():
    # pypinyin loads its dictionaries on import (~0.3 s): only when a name is first compared.
    from pypinyin import lazy_pinyin
    return lazy_pinyin


@lru_cache(maxsize=65536)
def char_pinyin(char):
    """The toneless everyday reading of one character (``伟`` → ``wei``); the character itself,
    lowercased, when it has none (a Latin letter, a digit)."""
    reading = _lazy_pinyin()(char)
    return reading[0].lower() if reading else char


_RUN = re.compile(r"[a-z0-9]+|.", re.DOTALL)


def _syllables(name, surname_reading):
    surname, given = split_surname(name)
    special = surname_reading and _SURNAME_READINGS.get(surname)
    if special:
        return (*special, *_syllables(given, False)) if given else tuple(special)
    # Character by character (names are not dictionary phrases): a run of Latin letters or
    # digits stays one item.
    return tuple(char_pinyin(piece) if len(piece) == 1 and not piece.isascii() else piece
                 for piece in _RUN.findall(name))


@lru_cache(maxsize=262144)
def name_syllables(name):
    """The toneless pinyin syllables of a normalised name, each character in its everyday
    reading (the one an input method lists it under: 覃 → tan, 单 → dan).

    Characters without a reading (Latin letters, digits) come back as they are, one item per run.
    """
    if not name:
        return ()
    return _syllables(name, False)


@lru_cache(maxsize=262144)
def name_keys(name):
    """``(pinyin, fuzzy pinyin, fuzzy surname pinyin, surname-reading pinyin)`` of a normalised
    name, each joined. The last is the pinyin with the surname read as a surname (覃 → qin,
    单 → shan), or "" when that is the same as the first: a worker who hears 覃 may type 秦."""
    syllables = name_syllables(name)
    if not syllables:
        return "", "", "", ""
    surname, _ = split_surname(name)
    n_surname = len(surname) if surname and not _LATIN.match(name) else 0
    folded = [fold_syllable(s) for s in syllables]
    alt = "".join(_syllables(name, True)) if surname in _SURNAME_READINGS else ""
    py = "".join(syllables)
    return py, "".join(folded), "".join(folded[:n_surname]), alt if alt != py else ""


def name_pinyin(raw):
    """Toneless pinyin of a name, joined: ``王伟`` → ``wangwei``; None for an empty name."""
    name = normalize_name(raw)
    return name_keys(name)[0] or None if name else None


def fuzzy_pinyin(raw):
    """The homophone-tolerant key of a name: ``张三`` and ``章三`` → ``zansan``; ``刘`` ≈ ``牛``."""
    name = normalize_name(raw)
    return name_keys(name)[1] or None if name else None


# Agreement levels, strongest first.
NAME_EXACT, NAME_HOMOPHONE, NAME_FUZZY, NAME_DIFFERENT = "exact", "homophone", "fuzzy", "different"


def compare_names(a, b):
    """How two names agree: ``exact`` / ``homophone`` / ``fuzzy`` / ``different``; None if either
    is missing. Inputs are raw names (normalised here)."""
    na, nb = normalize_name(a), normalize_name(b)
    if not na or not nb:
        return None
    if na == nb:
        return NAME_EXACT
    pa, fa, _, aa = name_keys(na)
    pb, fb, _, ab = name_keys(nb)
    if pa == pb or (aa and aa in (pb, ab)) or (ab and ab == pa):
        return NAME_HOMOPHONE
    if fa == fb:
        return NAME_FUZZY
    return NAME_DIFFERENT


def name_initials(raw):
    """The first letters of a name's pinyin syllables, for searching a list by initials as workers
    type them (``王建国`` → ``wjg``); a run of Latin letters or digits gives its first character.
    "" for an empty name."""
    name = normalize_name(raw)
    return "".join(s[0] for s in name_syllables(name) if s) if name else ""


# Other ways one person's name is typed (``name_variant``), strongest first.
NAME_TRANSPOSED, NAME_DROPPED, NAME_SURNAME_NEAR, NAME_NICKNAME = "transposed", "dropped", "surname_near", "nickname"
_NICK_PREFIXES = ("小", "阿")
# Accent confusions beyond those folded in ``fold_syllable``: f/h before u (胡 hu / 符 fu),
# h/w (黄 huang / 王 wang), r/l (饶 rao / 劳 lao).
_NEAR = (("huang", "wang"), ("hu", "fu"), ("r", "l"))


def _near_fold(syllable):
    for a, b in _NEAR:
        if syllable.startswith(a):
            syllable = b + syllable[len(a):]
            break
    return fold_syllable(syllable)


def _near_syllables(x, y):
    if x == y or _near_fold(x) == _near_fold(y):
        return True
    from rapidfuzz.distance import Levenshtein
    return Levenshtein.distance(x, y, score_cutoff=1) <= 1


def name_variant(a, b):
    """How two different normalised names of Chinese characters may still be one person's:
    ``transposed`` (the given-name characters in another order), ``dropped`` (one character
    left out, not the surname's, at least two left), ``surname_near`` (the same given name, a
    surname that sounds nearly the same), ``nickname`` (小X / 阿X / XX for a name ending in X);
    None otherwise. Compared by pinyin syllables, so a homophone inside changes nothing."""
    if not a or not b or a.isascii() or b.isascii():
        return None
    sa, sb = name_syllables(a), name_syllables(b)
    na, nb = len(split_surname(a)[0]), len(split_surname(b)[0])
    if len(sa) == len(sb):
        if len(sa) >= 3 and na == nb and sa[:na] == sb[:nb] and sa != sb and sorted(sa[na:]) == sorted(sb[na:]):
            return NAME_TRANSPOSED
        if len(sa) >= 2 and na == nb and sa[na:] == sb[nb:] and \
                all(_near_syllables(x, y) for x, y in zip(sa[:na], sb[:nb])):
            return NAME_SURNAME_NEAR
    long, short, n_short = (sa, sb, nb) if len(sa) > len(sb) else (sb, sa, na)
    if len(long) == len(short) + 1 and len(short) >= 2 and long[:n_short] == short[:n_short] and \
            any(long[:i] + long[i + 1:] == short for i in range(n_short, len(long))):
        return NAME_DROPPED
    for nick, full in ((a, sb), (b, sa)):
        if len(nick) == 2 and len(full) >= 2 and (nick[0] in _NICK_PREFIXES or nick[0] == nick[1]) and \
                name_syllables(nick[1])[0] == full[-1]:
            return NAME_NICKNAME
    return None

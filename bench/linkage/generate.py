"""A seeded synthetic population of a city district, typed by grid workers with errors.

``generate(n_persons, seed)`` → ``Population`` with

* ``persons``: the true persons (``pid``, name, gender, birth date, a valid resident ID number,
  phone, household), in households (``households``: grid, community address, building, unit,
  room, head) in communities of a few hundred households, one grid per community;
* ``records``: what was typed: every person at least once, some two to four times (other
  visits, other workers, imported lists), each copy with its own realistic errors;
  ``truth``: ``record_id → pid``. A record has ``name, id_number, gender, birth_date, phone,
  address`` and ``source`` (``school`` for a copy from a school list, else empty).

Names, addresses, area codes and phone prefixes come from Faker's ``zh_CN`` locale (drawn once
into pools, then sampled with the seeded ``random.Random``, so 1,000,000 records take seconds
rather than minutes). ID numbers are built from an area code, the birth date, a sequence
number (odd for men) and the check character (python-stdnum).

Errors, per typed copy (rates in ``ERRORS``): a homophone typed for one character of the name
(王伟 → 王玮, 张 → 章) or, more rarely, an accent slip (zh/z, n/l, ang/an); spaces in the name;
a missing ID number; the old 15-digit form for people born before 1985; full-width digits; a
lowercase x; spaces inside the number; a mistyped or two transposed digits; a missing or
mistyped birth date in several formats (1990/1/5, 19900105, 1990年1月5日, 1990.01.05); a missing,
reformatted (+86, dashes, spaces, full-width) or mistyped phone; a missing gender; the address
written with 栋/幢/座/号楼, Chinese numerals (三单元), the 5-3-501 form, without 室, with spaces,
with or without the province/city/district. And the errors of field registers typed by
different hands (issue 15): a dropped or swapped name character, traditional characters, a
near-homophone surname, a nickname; a birth year typed a decade or a year off, the lunar
birthday, the year alone; a parent's ID number on a child's record; the household's phone on a
member's; a previous residence, another community's name, an abbreviated estate, another name
of the road, no room. A child's copy may come from a school list, with its own rates. Each copy
records the kinds that hit it (``Population.kinds``).

Look-alikes that are different people: twins (same household, surname, birth date and phone;
other given name and ID number), a son with his father's full name, and in every community a
handful of the commonest names (王伟, 李娜, 张伟, 王芳, 李静, 刘洋 …) given to unrelated people.
"""
import datetime as dt
import random
from dataclasses import dataclass, field

from stdnum.cn import ric

ERRORS = {
    "name_homophone": 0.08, "name_accent": 0.015, "name_space": 0.03,
    # field-register errors (issue 15): a character dropped from a three-character name, the
    # two given-name characters swapped, traditional characters, a near-homophone surname
    # (n/l, f/h, huang/wang, zh/z, en/eng …), a nickname (小明, 阿明, 明明) in informal lists
    "name_drop": 0.02, "name_transpose": 0.015, "name_traditional": 0.02, "surname_near": 0.015,
    "name_nickname": 0.01, "name_nickname_school": 0.08,
    "id_missing": 0.30, "id_missing_school": 0.5, "id_15": 0.25, "id_fullwidth": 0.04, "id_lower_x": 0.5,
    "id_spaces": 0.03, "id_digit": 0.025, "id_swap": 0.01,
    # a parent's ID number typed on a child's record (school lists mostly)
    "family_id": 0.01, "family_id_school": 0.15,
    "birth_missing_with_id": 0.35, "birth_missing_without_id": 0.08, "birth_missing_school": 0.05, "birth_typo": 0.02, "birth_swap": 0.01,
    # the year mistyped (1988 → 1998, 1988 → 1989), the lunar birthday written as a date (old
    # people far more often), only the year
    "birth_year_typo": 0.015, "birth_lunar": 0.015, "birth_lunar_old": 0.10, "birth_year_only": 0.02,
    "phone_missing": 0.3, "phone_format": 0.3, "phone_fullwidth": 0.03, "phone_typo": 0.02,
    # the household's phone on a member's record; an old number
    "household_phone": 0.25, "household_phone_school": 0.7, "phone_old": 0.03,
    "gender_missing": 0.3, "gender_wrong": 0.003,
    "address_missing": 0.15,
    # a previous residence, the wrong community's name, the estate name abbreviated (幸福小区 →
    # 幸福), another name of the road (路 / 街 / 大道, or the road left out), the room left out
    "address_previous": 0.03, "address_community": 0.01, "address_abbrev": 0.05, "address_road": 0.04,
    "address_no_room": 0.05,
}
#: How a register kept in a spreadsheet writes a cell (drawn from a random stream of their own, so
#: the records are otherwise the ones the same seed always gave): a note beside the name
#: (王伟（户主）), the ID number kept as text ('331002…) or with a note, the birth date as the
#: spreadsheet's date serial or number (32151, 19880105.0), a year and a month only, the lunar
#: birthday in lunar words (农历1952年三月初八; old people far more often), two phones in one
#: cell, a masked phone (138****5678), the gender as the national code (1 / 2).
FORMATS = {
    "name_note": 0.02, "id_sheet": 0.03, "birth_sheet": 0.02, "birth_month": 0.01,
    "birth_lunar_words": 0.005, "birth_lunar_words_old": 0.05, "phone_two": 0.03, "phone_masked": 0.005,
    "gender_code": 0.05,
}
#: The share of communities that are villages (households written by village group and door).
RURAL_SHARE = 0.25
_NOTES = ("（户主）", "(户主)", "（本人）", "（小名）", "【已登记】", "(妻)", "（长子）", "（低保）")
_LUNAR_MONTH_WORDS = ("正", "二", "三", "四", "五", "六", "七", "八", "九", "十", "冬", "腊")
#: Where a typed copy comes from, with its share; a school list only for children of school age.
SOURCES = (("grid", 0.55), ("health", 0.2), ("civil", 0.25))
SCHOOL_SHARE = 0.4
#: How many times a person was typed: 1 with 55%, 2 with 28%, …
COPIES = ((1, 0.55), (2, 0.28), (3, 0.12), (4, 0.05))
COMMON_NAMES = ("王伟", "李娜", "张伟", "王芳", "李静", "刘洋", "张敏", "王静", "李伟", "王秀英", "张丽", "刘伟")

_EXTRA_GIVEN = ("子涵 梓涵 浩然 宇轩 欣怡 一诺 思远 嘉怡 雨泽 俊杰 诗涵 晓东 志明 国华 春生 秋菊 海涛 振华 "
                "玉兰 德明 文博 家豪 佳琪 思琪 子轩 梓萱 天佑 雨桐 宇航 铭泽 若曦 紫涵 明轩 晨阳 书瑶 静怡 "
                "建新 卫东 红霞 爱国 桂英 秀梅 金花 春兰 永强 国庆 建设 淑芬 丽华 志刚 立新 学军").split()
_HOMOPHONE_POOL = ("伟玮炜韦维薇卫娜纳那芳方坊静靖婧敬丽莉利力立李理里礼张章彰刘留柳陈晨臣辰杨阳扬洋"
                   "黄皇煌王汪吴武伍赵照周舟州徐许胡湖朱珠孙林琳霖郭国何和高马罗强墙磊垒勇永军君钧杰洁捷"
                   "涛滔桃超潮朝明名铭刚钢平萍苹辉晖慧惠鹏朋华化宇雨语羽浩豪昊凯楷健建剑俊峻帆凡旭序宁凝"
                   "龙隆佳家嘉亮成城诚程峰锋丰晨瑞睿志智兵冰雷东冬博波彬斌坤岩文雯红宏洪虹霞侠敏民秀英莹"
                   "燕艳雁玲铃灵娟涓桂贵兰蓝岚萍婷庭梅玉珍真凤晶京颖影雪慧琴勤云芸洁柳淑春海冬荣容香芝金"
                   "花瑜璐新欣心怡一诺思远轩萱涵寒然泽桐航若曦紫书瑶德卫红爱立学庆设永国生秋菊振")


@dataclass
class Household:
    hid: str
    grid: str
    community: dict
    building: int
    unit: int
    room: int
    head: int = None
    members: list = field(default_factory=list)
    phone: str = ""


@dataclass
class Person:
    pid: int
    hid: str
    name: str
    gender: str
    birth: dt.date
    id_number: str
    phone: str
    relation: str


@dataclass
class Population:
    persons: list
    households: dict
    records: list
    truth: dict
    kinds: dict = field(default_factory=dict)     # record_id -> the error kinds typed into it


class _Pools:
    """Faker's zh_CN data, drawn once."""

    def __init__(self, seed):
        from faker import Faker
        import faker.providers.address.zh_CN as addr
        import faker.providers.person.zh_CN as person
        import faker.providers.phone_number.zh_CN as phone
        import faker.providers.ssn.zh_CN as ssn
        fake = Faker("zh_CN")
        fake.seed_instance(seed)
        self.surnames = list(person.Provider.last_names.keys())
        self.surname_weights = list(person.Provider.last_names.values())
        self.male = list(person.Provider.first_names_male) + _EXTRA_GIVEN[::2]
        self.female = list(person.Provider.first_names_female) + _EXTRA_GIVEN[1::2]
        chars = sorted({c for n in self.male + self.female for c in n} | set(_HOMOPHONE_POOL))
        self.given_chars = chars
        self.provinces = list(addr.Provider.provinces)
        self.cities = list(addr.Provider.cities)
        self.districts = list(addr.Provider.districts)
        self.streets = list({fake.street_name() for _ in range(400)})
        self.area_codes = [c for c in ssn.Provider.area_codes if not c.endswith("00")]
        self.phone_prefixes = [str(p) for p in phone.Provider.phonenumber_prefixes]
        self.homophones, self.accents = _sound_tables(chars + self.surnames)
        self.near_surnames = _near_surnames(self.surnames)
        import opencc
        self.to_traditional = opencc.OpenCC("s2t").convert


#: Sound confusions of regional accents beyond those ``fold_syllable`` folds: f/h (湖南, 福建:
#: 胡 hu / 符 fu), h/w before u (黄 huang / 王 wang), r/l (饶 rao / 劳 lao).
_NEAR_INITIALS = (("huang", "wang"), ("hu", "fu"), ("r", "l"))


def _near_key(syllable):
    from sync.identity.names import fold_syllable
    for a, b in _NEAR_INITIALS:
        if syllable.startswith(a):
            syllable = b + syllable[len(a):]
            break
    return fold_syllable(syllable)


def _near_surnames(surnames):
    """Surnames a worker may type for another one that sounds nearly the same (刘 / 牛,
    陈 / 程, 黄 / 王, 胡 / 符): same near key, different pinyin."""
    from pypinyin import lazy_pinyin
    by_key = {}
    for s in surnames:
        if len(s) == 1:
            py = lazy_pinyin(s)[0]
            by_key.setdefault(_near_key(py), []).append((s, py))
    return {s: sorted(o for o, opy in group if opy != py) for group in by_key.values() for s, py in group
            if any(opy != py for _, opy in group)}


def _sound_tables(chars):
    from pypinyin import lazy_pinyin
    from sync.identity.names import fold_syllable
    by_py, by_fold = {}, {}
    for c in set(chars):
        if len(c) != 1:
            continue
        py = lazy_pinyin(c)[0]
        by_py.setdefault(py, []).append(c)
        by_fold.setdefault(fold_syllable(py), []).append((c, py))
    homophones = {c: sorted(o for o in group if o != c) for group in by_py.values() for c in group}
    accents = {}
    for group in by_fold.values():
        for c, py in group:
            others = sorted(o for o, opy in group if opy != py)
            if others:
                accents[c] = others
    return ({c: v for c, v in homophones.items() if v}, accents)


def make_id(area, birth, seq):
    body = f"{area}{birth:%Y%m%d}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


class Generator:
    def __init__(self, seed=7):
        self.rng = random.Random(seed)
        self.fmt = random.Random(seed * 7919 + 1)      # the spreadsheet forms' own stream (FORMATS)
        self.pools = _Pools(seed)
        self.used_ids = set()
        self._pid = 0
        self.tags = []

    # --- the true population -------------------------------------------------------------
    def community(self, k):
        r, p = self.rng, self.pools
        province = r.choice(p.provinces)
        city = r.choice(p.cities) + "市"
        district = r.choice(p.districts) + r.choice(("区", "县"))
        street = r.choice(p.streets)
        name = r.choice(p.surnames[:80] + p.cities) + r.choice(("小区", "花园", "家园", "新村", "苑", "公寓", "嘉园"))
        com = {"grid": f"grid-{k:05d}", "prefix": f"{province}{city}{district}", "street": f"{street}{r.randint(1, 300)}号",
               "name": name, "area": r.choice(p.area_codes), "buildings": r.randint(4, 30)}
        if self.fmt.random() < RURAL_SHARE:
            # a village: its households are written by village group and door (东山村5组12号);
            # drawn from the forms' own stream, so the persons and errors are the same as before
            base = name[:-1] if name.endswith("苑") else name[:-2]
            com["village"], com["town"] = base + "村", street[:2] + "镇"
        return com

    def _surname(self):
        return self.rng.choices(self.pools.surnames, self.pools.surname_weights)[0]

    def _given(self, gender):
        r, p = self.rng, self.pools
        if r.random() < 0.45:
            return r.choice(p.male if gender == "M" else p.female)
        n = 1 if r.random() < 0.25 else 2
        return "".join(r.choice(p.given_chars) for _ in range(n))

    def _id(self, area, birth, gender):
        r = self.rng
        while True:
            seq = r.randrange(0, 1000)
            if (seq % 2 == 1) != (gender == "M"):
                seq = (seq + 1) % 1000
            number = make_id(area, birth, seq)
            if number not in self.used_ids:
                self.used_ids.add(number)
                return number

    def _phone(self):
        return self.rng.choice(self.pools.phone_prefixes) + f"{self.rng.randrange(10 ** 8):08d}"

    def _birth(self, year):
        return dt.date(year, 1, 1) + dt.timedelta(days=self.rng.randrange(365))

    def _person(self, hh, name, gender, birth, relation, area, phone):
        self._pid += 1
        person = Person(self._pid, hh.hid, name, gender, birth,
                        self._id(area if self.rng.random() < 0.8 else self.rng.choice(self.pools.area_codes),
                                 birth, gender),
                        phone, relation)
        hh.members.append(person)
        return person

    def household(self, hid, com, common_left):
        r = self.rng
        hh = Household(hid, com["grid"], com, r.randint(1, com["buildings"]), r.randint(1, 6),
                       r.randint(1, 18) * 100 + r.randint(1, 4))
        area = com["area"]
        surname = self._surname()
        head_gender = "M" if r.random() < 0.7 else "F"
        head_year = r.randint(1940, 1998)
        head_name = surname + self._given(head_gender)
        if common_left and r.random() < 0.3:
            head_name = r.choice(COMMON_NAMES)
            surname = head_name[0]
            head_gender = "F" if head_name in ("李娜", "王芳", "李静", "王静", "王秀英", "张丽", "张敏") else "M"
            common_left[0] -= 1
        hh.phone = self._phone()
        head = self._person(hh, head_name, head_gender, self._birth(head_year), "head", area, hh.phone)
        hh.head = head.pid
        if r.random() < 0.7 and head_year < 1995:
            sg = "F" if head_gender == "M" else "M"
            self._person(hh, self._surname() + self._given(sg), sg, self._birth(head_year + r.randint(-5, 5)),
                         "spouse", area, self._phone() if r.random() < 0.8 else hh.phone)
        n_children = r.choices((0, 1, 2, 3), (0.25, 0.45, 0.25, 0.05))[0] if head_year < 1996 else 0
        child_year = min(head_year + r.randint(20, 35), 2023)
        namesake_done = False
        for _ in range(n_children):
            g = "M" if r.random() < 0.52 else "F"
            birth = self._birth(child_year)
            name = surname + self._given(g)
            if not namesake_done and head_gender == "M" and g == "M" and r.random() < 0.06:
                name, namesake_done = head_name, True                    # a son with his father's name
            adult = child_year < 2005
            phone = self._phone() if adult and r.random() < 0.85 else ""
            self._person(hh, name, g, birth, "child", area, phone)
            if r.random() < 0.04:                                        # a twin
                g2 = "M" if r.random() < 0.5 else "F"
                twin_name = surname + self._given(g2)
                while twin_name == name:
                    twin_name = surname + self._given(g2)
                self._person(hh, twin_name, g2, birth, "child", area, phone if r.random() < 0.5 else "")
            child_year = min(child_year + r.randint(1, 6), 2023)
        if r.random() < 0.15 and head_year > 1960:
            g = "M" if r.random() < 0.5 else "F"
            self._person(hh, (surname if g == "M" else self._surname()) + self._given(g), g,
                         self._birth(head_year - r.randint(22, 35)), "parent", area, "")
        return hh

    def population(self, n_persons):
        households, persons = {}, []
        k = 0
        while len(persons) < n_persons:
            com = self.community(k)
            size = self.rng.randint(150, 400)
            common_left = [max(3, size // 40)]
            for h in range(size):
                hh = self.household(f"h{k:05d}-{h:03d}", com, common_left)
                households[hh.hid] = hh
                persons.extend(hh.members)
                if len(persons) >= n_persons:
                    break
            k += 1
        return persons, households

    # --- what gets typed -----------------------------------------------------------------
    # Each copy's errors are recorded in ``self.tags`` (the error kinds of ``ERRORS`` that hit
    # it), so the benchmark can give the recall per kind of error.
    def typed_name(self, name, nickname_rate=None):
        r, p = self.rng, self.pools
        tags = self.tags
        if r.random() < (ERRORS["name_nickname"] if nickname_rate is None else nickname_rate) and len(name) >= 2:
            tags.append("name_nickname")
            last = name[-1]
            return r.choice(("小" + last, "阿" + last, last + last))
        chars = list(name)
        if r.random() < ERRORS["name_homophone"]:
            i = r.randrange(len(chars))
            if chars[i] in p.homophones:
                chars[i] = r.choice(p.homophones[chars[i]])
                tags.append("name_homophone")
        elif r.random() < ERRORS["name_accent"]:
            i = r.randrange(len(chars))
            if chars[i] in p.accents:
                chars[i] = r.choice(p.accents[chars[i]])
                tags.append("name_accent")
        if len(chars) >= 3 and r.random() < ERRORS["name_drop"]:
            del chars[r.randrange(1, len(chars))]
            tags.append("name_drop")
        elif len(chars) >= 3 and chars[-1] != chars[-2] and r.random() < ERRORS["name_transpose"]:
            chars[-1], chars[-2] = chars[-2], chars[-1]
            tags.append("name_transpose")
        if r.random() < ERRORS["surname_near"] and chars[0] in p.near_surnames:
            chars[0] = r.choice(p.near_surnames[chars[0]])
            tags.append("surname_near")
        text = "".join(chars)
        if r.random() < ERRORS["name_traditional"]:
            traditional = p.to_traditional(text)
            if traditional != text:
                text = traditional
                tags.append("name_traditional")
        if r.random() < ERRORS["name_space"]:
            text = text[0] + " " + text[1:]
        return text

    def typed_id(self, number, birth, missing_rate=None):
        r = self.rng
        if r.random() < (ERRORS["id_missing"] if missing_rate is None else missing_rate):
            self.tags.append("id_missing")
            return ""
        if birth.year < 1985 and r.random() < ERRORS["id_15"]:
            number = number[:6] + number[8:17]
        if r.random() < ERRORS["id_digit"]:
            i = r.randrange(len(number) - 1)
            number = number[:i] + str((int(number[i]) + r.randint(1, 9)) % 10) + number[i + 1:]
            self.tags.append("id_digit")
        elif r.random() < ERRORS["id_swap"]:
            i = r.randrange(len(number) - 2)
            if number[i] != number[i + 1]:
                number = number[:i] + number[i + 1] + number[i] + number[i + 2:]
                self.tags.append("id_swap")
        if number.endswith("X") and r.random() < ERRORS["id_lower_x"]:
            number = number[:-1] + "x"
        if r.random() < ERRORS["id_fullwidth"]:
            number = _fullwidth(number)
        if r.random() < ERRORS["id_spaces"]:
            number = number[:6] + " " + number[6:14] + " " + number[14:]
        return number

    def typed_birth(self, birth, has_id, school=False):
        r = self.rng
        tags = self.tags
        if r.random() < ERRORS["birth_missing_school" if school else
                            "birth_missing_with_id" if has_id else "birth_missing_without_id"]:
            return ""
        if r.random() < ERRORS["birth_year_only"]:
            tags.append("birth_year_only")
            return r.choice((f"{birth.year}", f"{birth.year}年"))
        if r.random() < ERRORS["birth_lunar_old" if birth.year < 1960 else "birth_lunar"] and birth.year >= 1901:
            from lunardate import LunarDate
            lunar = LunarDate.from_solar_date(birth.year, birth.month, birth.day)
            tags.append("birth_lunar")
            return r.choice((f"{lunar.year}-{lunar.month:02d}-{lunar.day:02d}", f"{lunar.year}年{lunar.month}月{lunar.day}日"))
        if r.random() < ERRORS["birth_typo"]:
            day = (birth.day // 10) * 10 + r.randint(0, 9)         # the last digit of the day
            day = max(1, min(day, 28))
            if day != birth.day:
                birth = birth.replace(day=day)
                tags.append("birth_typo")
        elif r.random() < ERRORS["birth_swap"] and birth.day <= 12 and birth.day != birth.month:
            birth = birth.replace(month=birth.day, day=birth.month)
            tags.append("birth_swap")
        elif r.random() < ERRORS["birth_year_typo"]:
            year = birth.year + r.choice((-10, 10, -1, 1))             # 1988 → 1998, 1988 → 1989
            if 1900 < year <= 2024 and not (birth.month == 2 and birth.day == 29):
                birth = birth.replace(year=year)
                tags.append("birth_year_typo")
        form = r.random()
        if form < 0.5:
            return birth.isoformat()
        if form < 0.65:
            return f"{birth.year}/{birth.month}/{birth.day}"
        if form < 0.75:
            return f"{birth:%Y%m%d}"
        if form < 0.9:
            return f"{birth.year}年{birth.month}月{birth.day}日"
        return f"{birth:%Y.%m.%d}"

    def typed_phone(self, phone):
        r = self.rng
        if not phone or r.random() < ERRORS["phone_missing"]:
            return ""
        if r.random() < ERRORS["phone_old"]:
            phone = self._phone()
            self.tags.append("phone_old")
        elif r.random() < ERRORS["phone_typo"]:
            i = r.randrange(3, 11)
            phone = phone[:i] + str((int(phone[i]) + r.randint(1, 9)) % 10) + phone[i + 1:]
            self.tags.append("phone_typo")
        if r.random() < ERRORS["phone_format"]:
            phone = r.choice((f"+86 {phone[:3]}-{phone[3:7]}-{phone[7:]}", f"{phone[:3]} {phone[3:7]} {phone[7:]}",
                              f"0086{phone}", f"{phone[:3]}-{phone[3:]}"))
        if r.random() < ERRORS["phone_fullwidth"]:
            phone = _fullwidth(phone)
        return phone

    def typed_gender(self, gender):
        r = self.rng
        if r.random() < ERRORS["gender_missing"]:
            return ""
        if r.random() < ERRORS["gender_wrong"]:
            self.tags.append("gender_wrong")
            return "F" if gender == "M" else "M"
        return gender

    def typed_address(self, hh, others=()):
        r = self.rng
        tags = self.tags
        if r.random() < ERRORS["address_missing"]:
            return ""
        if others and r.random() < ERRORS["address_previous"]:
            hh = r.choice(others)                                       # where the person lived before
            tags.append("address_previous")
        com = hh.community
        name, street = com.get("village", com["name"]), com["street"]
        if others and r.random() < ERRORS["address_community"]:
            other = r.choice(others).community
            name = other.get("village", other["name"])
            tags.append("address_community")
        if r.random() < ERRORS["address_abbrev"] and len(name) > 2:
            name = name[:2]                                            # 幸福小区 → 幸福
            tags.append("address_abbrev")
        if r.random() < ERRORS["address_road"]:
            road, _, number = street.rpartition("路") if "路" in street else street.rpartition("街")
            street = r.choice((road + "大道" + number, road + ("街" if "路" in street else "路") + number, ""))
            tags.append("address_road")
        b, u, room = hh.building, hh.unit, hh.room
        cn = r.random() < 0.2
        bs = _cn_number(b) if cn and b <= 99 else str(b)
        us = _cn_number(u) if cn or r.random() < 0.1 else str(u)
        no_room = r.random() < ERRORS["address_no_room"]
        if no_room:
            tags.append("address_no_room")
        style = r.random()
        if style < 0.15 and not no_room:
            door = f"{b}-{u}-{room}"
        else:
            word = r.choice(("栋", "栋", "幢", "座", "号楼"))
            door = f"{bs}{word}{us}单元" + ("" if no_room else f"{room}" + r.choice(("室", "室", "", "号")))
        where = r.random()
        if "village" in com:
            # a village's door: the village group and the door number (a group holds a few dozen
            # households), written 5组12号, 五组12号, 第五村民小组12号, 5组12; without the number
            # when the room would have been left out; the road is not written
            if "address_road" in tags:
                tags.remove("address_road")
            tags.append("address_village")
            street = com["town"]
            number = (u - 1) * 72 + (room // 100 - 1) * 4 + room % 100
            gs = _cn_number(b) if cn and b <= 99 else str(b)
            if no_room:
                door = f"{gs}组"
            elif style < 0.1:
                door = f"第{_cn_number(b) if b <= 99 else b}村民小组{number}号"
            elif style < 0.2:
                door = f"{gs}组{number}"
            else:
                door = f"{gs}组{number}号"
        if where < 0.4:
            head = com["prefix"] + street + name
        elif where < 0.7:
            head = street + name
        else:
            head = name
        text = head + door
        if r.random() < 0.2:
            text = head + " " + door
        if r.random() < 0.05:
            text = _fullwidth(text)
        return text

    def records(self, persons, households):
        r = self.rng
        out, truth, kinds = [], {}, {}
        n = 0
        hh_list = list(households.values())
        by_pid = {p.pid: p for p in persons}
        for person in persons:
            hh = households[person.hid]
            copies = r.choices([c for c, _ in COPIES], [w for _, w in COPIES])[0]
            school_age = person.relation == "child" and person.birth.year >= 2006
            parents = [by_pid[m.pid] for m in hh.members if m.relation in ("head", "spouse") and m.pid != person.pid] \
                if person.relation == "child" else []
            for _ in range(copies):
                n += 1
                rid = f"r{n:08d}"
                self.tags = tags = []
                school = school_age and r.random() < SCHOOL_SHARE
                if school:
                    tags.append("source_school")
                suffix = "_school" if school else ""
                if parents and r.random() < ERRORS["family_id" + suffix]:
                    parent = r.choice(parents)                   # a parent's number on the child's row
                    number = self.typed_id(parent.id_number, parent.birth, 0.0)
                    tags.append("family_id")
                else:
                    number = self.typed_id(person.id_number, person.birth,
                                           ERRORS["id_missing_school"] if school else None)
                phone = person.phone
                if person.relation != "head" and r.random() < ERRORS["household_phone" + suffix]:
                    phone = hh.phone
                    if phone != person.phone:
                        tags.append("household_phone")
                elif person.relation == "child" and not phone and r.random() < 0.3:
                    phone = hh.phone
                    tags.append("household_phone")
                nearby = [hh_list[r.randrange(len(hh_list))] for _ in range(2)]
                nearby = [h for h in nearby if h.hid != hh.hid]
                out.append({"record_id": rid,
                            "name": self.typed_name(person.name, ERRORS["name_nickname_school"] if school else None),
                            "id_number": number,
                            "gender": self.typed_gender(person.gender),
                            "birth_date": self.typed_birth(person.birth, bool(number), school),
                            "phone": self.typed_phone(phone), "address": self.typed_address(hh, nearby),
                            # the list the row came from, as a register names it ("" when unknown)
                            "source": "school" if school else ""})
                self.sheet_forms(out[-1], person, hh)
                truth[rid] = person.pid
                kinds[rid] = tuple(tags)
        order = list(range(len(out)))
        r.shuffle(order)
        return [out[i] for i in order], truth, kinds


    def sheet_forms(self, rec, person, hh):
        """How a spreadsheet register writes the cells (``FORMATS``), on the record as typed."""
        f, tags = self.fmt, self.tags
        if rec["name"] and f.random() < FORMATS["name_note"]:
            rec["name"] += f.choice(_NOTES)
            tags.append("name_note")
        if rec["id_number"] and f.random() < FORMATS["id_sheet"]:
            rec["id_number"] = f.choice(("'" + rec["id_number"], rec["id_number"] + "（本人）", rec["id_number"] + "\t"))
            tags.append("id_sheet")
        birth = rec["birth_date"]
        date = None            # the typed date when it is an ISO one
        if len(birth) == 10 and birth[4] == "-" and birth[7] == "-":
            try:        # a lunar birthday written as a date may be no solar date at all (02-30)
                date = dt.date.fromisoformat(birth)
            except ValueError:
                pass
        old = person.birth.year < 1960
        if birth and f.random() < FORMATS["birth_lunar_words_old" if old else "birth_lunar_words"] \
                and person.birth.year >= 1901:
            from lunardate import LunarDate
            lunar = LunarDate.from_solar_date(person.birth.year, person.birth.month, person.birth.day)
            day = lunar.day
            day_words = ("初" + _cn_number(day) if day <= 10 else
                         ("廿" + _cn_number(day - 20) if 20 < day < 30 else _cn_number(day)))
            rec["birth_date"] = f.choice(("农历", "农历", "")) + f"{lunar.year}年" + \
                ("闰" if lunar.isLeapMonth else "") + _LUNAR_MONTH_WORDS[lunar.month - 1] + "月" + day_words
            tags.append("birth_lunar_words")
        elif date and f.random() < FORMATS["birth_sheet"]:
            rec["birth_date"] = f.choice((str((date - dt.date(1899, 12, 30)).days), f"{date:%Y%m%d}.0"))
            tags.append("birth_sheet")
        elif date and f.random() < FORMATS["birth_month"]:
            rec["birth_date"] = f.choice((f"{birth[:4]}年{int(birth[5:7])}月", birth[:7]))
            tags.append("birth_month")
        if rec["phone"]:
            if f.random() < FORMATS["phone_two"]:
                other = hh.phone if hh.phone and hh.phone not in rec["phone"] else \
                    f.choice(self.pools.phone_prefixes) + f"{f.randrange(10 ** 8):08d}"
                rec["phone"] = rec["phone"] + f.choice(("/", "，", "、", " ", "或")) + other
                tags.append("phone_two")
            elif f.random() < FORMATS["phone_masked"]:
                digits = "".join(c for c in rec["phone"] if c.isdigit())[-11:]
                if len(digits) == 11:
                    rec["phone"] = digits[:3] + "****" + digits[7:]
                    tags.append("phone_masked")
        if rec["gender"] and f.random() < FORMATS["gender_code"]:
            rec["gender"] = "1" if rec["gender"] == "M" else "2"
            tags.append("gender_code")


def _fullwidth(text):
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


_CN = "〇一二三四五六七八九"


def _cn_number(n):
    if n < 10:
        return _CN[n]
    if n < 20:
        return "十" + (_CN[n % 10] if n % 10 else "")
    return _CN[n // 10] + "十" + (_CN[n % 10] if n % 10 else "")


def generate(n_persons, seed=7):
    """A population of about ``n_persons`` persons and the records typed of them."""
    gen = Generator(seed)
    persons, households = gen.population(n_persons)
    records, truth, kinds = gen.records(persons, households)
    return Population(persons, households, records, truth, kinds)


def generate_records(n_records, seed=7):
    """About ``n_records`` typed records (and their truth): persons × ~1.67 copies each."""
    avg = sum(c * w for c, w in COPIES)
    pop = generate(max(1, int(n_records / avg * 1.02)), seed)
    records = pop.records[:n_records]
    return records, {r["record_id"]: pop.truth[r["record_id"]] for r in records}


"""Matching one new person or household against what is already held: same, maybe or new.

* ``match_person(candidate, records)``: a pure function over any iterable of person dicts (each
  with an ``"id"``); every record is scored.
* ``PersonIndex``: the in-memory index a device (or a server worker) keeps of its persons and
  households, with the blocking keys of ``keys.py`` inside, so that a lookup scores only the
  few records that share a key with the candidate (well under a millisecond with 50,000
  persons). ``add`` / ``remove`` keep it current as records are saved, merged or deleted.
* ``match_household(candidate_household, members, index)``: the same door in the same grid
  (normalised address) and the identity of the members.

A ``Decision`` has ``kind`` (``same``: link to ``candidates[0]``; ``maybe``: show the worker the
candidates; ``new``) and ``candidates``: ``[(id, score, reasons), …]``, best first, each also
carrying its own ``.kind``. Scores are log-likelihood ratios in bits (see ``score.py``).
"""
from .address import compare_parsed, household_address, parse_address
from .keys import KEY_KINDS, PersonFeatures, key_tuple, person_features
from .names import name_keys, normalize_name
from .score import MAYBE, NAME_VARIANTS, NEW, ONLY_CANDIDATE, SAME, NameFrequency, compare, phone_level, reasons
from . import normalize_phone

#: A block larger than this is not searched (a phone typed for a whole building, say); the
#: candidate is still found through its other keys. ID-number blocks are always searched.
BLOCK_CAP = 400
MAX_CANDIDATES = 10


class Candidate(tuple):
    """``(id, score, reasons)`` with ``.kind`` (same / maybe) of this one pair."""

    def __new__(cls, rid, score, why, kind):
        self = tuple.__new__(cls, (rid, score, why))
        self.kind = kind
        return self

    id = property(lambda self: self[0])
    score = property(lambda self: self[1])
    reasons = property(lambda self: self[2])


class Decision:
    __slots__ = ("kind", "candidates")

    def __init__(self, kind, candidates=()):
        self.kind, self.candidates = kind, list(candidates)

    @property
    def best(self):
        return self.candidates[0] if self.candidates else None

    def __repr__(self):
        return f"Decision({self.kind!r}, {self.candidates!r})"

    def __eq__(self, other):
        return isinstance(other, Decision) and (self.kind, self.candidates) == (other.kind, other.candidates)


#: Years a parent is at least older than a child (as in ``linkage.GENERATION``).
GENERATION = 15
_AGREE = ("exact", "homophone") + NAME_VARIANTS


def _decide(scored, names, limit=MAX_CANDIDATES, feat=None):
    """``scored``: [(kind, score, levels, rule, features)]. Picks the decision.

    Several ``same`` candidates that are not the same person between themselves (two records
    the candidate would join) make the answer ``maybe``: the worker chooses. A candidate whose
    rule is ``ONLY_CANDIDATE`` is ``same`` when it is the only one whose name fits. A
    candidate ``feat`` whose only birth date is its ID number's, with the name of a held person
    at its door or phone born a generation later, may carry that person's parent's number: its
    ``same`` is a ``maybe``.
    """
    if feat is not None and feat.birth_from_id and any(
            s[3] == "birth-dates-differ" and s[2].get("name") in ("exact", "homophone") and s[4].birth
            and int(s[4].birth[:4]) - int(feat.birth[:4]) >= GENERATION
            and (s[2].get("address") in ("exact", "close") or s[2].get("phone") in ("exact", "shared"))
            for s in scored):
        scored = [(MAYBE if s[0] == SAME else s[0],) + tuple(s[1:3]) + (s[3] or "number-may-be-a-parents",) + (s[4],)
                  for s in scored]
    fitting = [s for s in scored if s[0] in (SAME, MAYBE) and s[2].get("name") in _AGREE]
    if len(fitting) == 1 and fitting[0][3] == ONLY_CANDIDATE and not any(s[0] == SAME for s in scored):
        only = fitting[0]
        scored = [(SAME,) + tuple(s[1:]) if s is only else s for s in scored]
    keep = [s for s in scored if s[0] in (SAME, MAYBE)]
    keep.sort(key=lambda s: (s[0] != SAME, -s[1], str(s[4].rid)))
    cands = [Candidate(s[4].rid, round(s[1], 2), reasons(s[2], s[3]), s[0]) for s in keep[:limit]]
    sames = [s for s in keep if s[0] == SAME]
    if not sames:
        return Decision(MAYBE if keep else NEW, cands)
    if len(sames) > 1:
        top = sames[0][4]
        for other in sames[1:]:
            if compare(top, other[4], names)[0] != SAME:
                return Decision(MAYBE, cands)
    return Decision(SAME, cands)


def match_person(candidate, records, *, names=None):
    """Match a person dict against ``records`` (dicts with an ``"id"``): a ``Decision``.

    ``names``: an optional ``NameFrequency`` (a register's name counts); without it every exact
    name counts the same. Every record is scored, no blocking: for a few hundred records, or
    for a reviewer's second look; ``PersonIndex`` is the fast path.
    """
    feat = person_features(candidate)
    scored = []
    for record in records:
        other = record if isinstance(record, PersonFeatures) else person_features(record)
        kind, score, levels, rule = compare(feat, other, names)
        scored.append((kind, score, levels, rule, other))
    return _decide(scored, names, feat=feat)


class PersonIndex:
    """Persons (and optionally households) held in memory with their blocking keys.

    ``PersonIndex(persons, households)``; ``add(person)``, ``remove(person_id)``,
    ``lookup(candidate)`` → ``Decision``; ``add_household(h)``, ``remove_household(id)``,
    ``lookup_household(h, members)`` → ``Decision``. A person dict needs ``"id"``; its
    ``household_id`` ties it to a household for ``match_household``, and a person without an
    ``address`` of its own is compared with its household's address (kept current when the
    household is added or replaced, before or after its persons).
    """

    def __init__(self, persons=(), households=(), *, block_cap=BLOCK_CAP):
        self.block_cap = block_cap
        self._persons = {}           # id -> PersonFeatures
        self._keys = {}              # id -> its blocking keys
        self._blocks = {}            # key -> set of ids
        self._members = {}           # household id -> set of person ids
        self._households = {}        # id -> household features dict
        self._door_blocks = {}       # grid|address key -> set of household ids
        self._borrowed = set()       # persons compared with their household's address
        self.names = NameFrequency()
        for household in households:
            self.add_household(household)
        for person in persons:
            self.add(person)

    # --- persons -------------------------------------------------------------------------
    def __len__(self):
        return len(self._persons)

    def __contains__(self, person_id):
        return person_id in self._persons

    def features(self, person_id):
        return self._persons.get(person_id)

    def add(self, person):
        """Add or replace a person (a dict with ``"id"``)."""
        pid = person["id"]
        if pid in self._persons:
            self.remove(pid)
        if not person.get("address"):
            self._borrowed.add(pid)
        feat = person_features(self._with_address(person), pid)
        self._persons[pid] = feat
        self._keys[pid] = keys = key_tuple(feat)
        for key in keys:
            if key is not None:
                self._blocks.setdefault(key, set()).add(pid)
        if feat.household_id is not None:
            self._members.setdefault(feat.household_id, set()).add(pid)
        self.names.add(feat.name)
        return feat

    def remove(self, person_id):
        feat = self._persons.pop(person_id, None)
        if feat is None:
            return False
        self._borrowed.discard(person_id)
        for key in self._keys.pop(person_id):
            if key is not None:
                block = self._blocks.get(key)
                if block is not None:
                    block.discard(person_id)
                    if not block:
                        del self._blocks[key]
        if feat.household_id is not None:
            members = self._members.get(feat.household_id)
            if members is not None:
                members.discard(person_id)
                if not members:
                    del self._members[feat.household_id]
        self.names.remove(feat.name)
        return True

    def _with_address(self, person):
        """A person held on a device has no address of its own: its household's is used."""
        if person.get("address") or person.get("household_id") not in self._households:
            return person
        return dict(person, address=self._households[person["household_id"]]["full_address"])

    def _reindex(self, pid, feat):
        for key in self._keys.pop(pid):
            if key is not None:
                block = self._blocks.get(key)
                if block is not None:
                    block.discard(pid)
                    if not block:
                        del self._blocks[key]
        self._persons[pid] = feat
        self._keys[pid] = keys = key_tuple(feat)
        for key in keys:
            if key is not None:
                self._blocks.setdefault(key, set()).add(pid)

    def members_of(self, household_id):
        return set(self._members.get(household_id, ()))

    def candidate_ids(self, feat):
        """Ids sharing a blocking key with ``feat`` (blocks above the cap skipped, but never
        an ID-number block)."""
        found = set()
        for kind, key in zip(KEY_KINDS, key_tuple(feat)):
            if key is None:
                continue
            block = self._blocks.get(key)
            if block and (len(block) <= self.block_cap or kind == "i"):
                found |= block
        return found

    def lookup(self, candidate, *, exclude=(), limit=MAX_CANDIDATES, within=None):
        """Match a person dict against the index: a ``Decision``. ``exclude``: ids to leave out
        (the candidate itself when it is already stored); ``within``: only these ids."""
        feat = candidate if isinstance(candidate, PersonFeatures) else person_features(self._with_address(candidate))
        ids = self.candidate_ids(feat)
        if within is not None:
            ids &= set(within)
        own = feat.rid
        scored = []
        for pid in ids:
            if pid in exclude or (own is not None and pid == own):
                continue
            other = self._persons[pid]
            kind, score, levels, rule = compare(feat, other, self.names)
            scored.append((kind, score, levels, rule, other))
        return _decide(scored, self.names, limit=limit, feat=feat)

    # --- households ----------------------------------------------------------------------
    def add_household(self, household):
        """Add or replace a household (``id``, ``grid_id``, ``address``; optional ``building``,
        ``unit``, ``room``, ``head_name``, ``phone``)."""
        hid = household["id"]
        if hid in self._households:
            self.remove_household(hid)
        feat = household_features(household)
        self._households[hid] = feat
        for key in feat["door_keys"]:
            self._door_blocks.setdefault(key, set()).add(hid)
        # Members without an address of their own now compare with this one.
        for pid in self._members.get(hid, ()):
            if pid in self._borrowed:
                self._reindex(pid, self._persons[pid]._replace(address=feat["address"]))
        return feat

    def remove_household(self, household_id):
        feat = self._households.pop(household_id, None)
        if feat is None:
            return False
        for key in feat["door_keys"]:
            block = self._door_blocks.get(key)
            if block is not None:
                block.discard(household_id)
                if not block:
                    del self._door_blocks[key]
        return True

    def household(self, household_id):
        return self._households.get(household_id)

    def lookup_household(self, candidate_household, members=(), *, limit=MAX_CANDIDATES):
        return match_household(candidate_household, members, self, limit=limit)


def household_features(household):
    """What a household is compared by: grid, parsed full address, head name, phone."""
    full = household_address(household)
    address = parse_address(full)
    grid = household.get("grid_id")
    head = normalize_name(household.get("head_name")) or ""
    # The door within the grid: building / unit / room, else the numbers, else the words.
    door_keys = [f"{grid}|{address.key}"] if address is not None else []
    return {"id": household.get("id"), "grid_id": grid, "address": address, "full_address": full, "head": head,
            "head_py": name_keys(head)[0] if head else "",
            "phone": normalize_phone(household.get("phone")) or "", "door_keys": door_keys}


# Household scoring (bits, same scale as persons): the door, the members, the head, the phone.
HW_ADDRESS = {"exact": 10.0, "close": 7.0, "partial": 2.0, "different": -6.0, "other-grid": -10.0}
HW_MEMBER_SAME, HW_MEMBER_MAYBE, HW_MEMBER_CONFLICT = 12.0, 4.0, -12.0
HW_HEAD = {"exact": 5.0, "homophone": 4.0, "different": -3.0}
HW_PHONE = {"exact": 6.0, "close": 3.0, "different": -1.0}


def match_household(candidate_household, members, index, *, limit=MAX_CANDIDATES):
    """Is this household (a dict as for ``PersonIndex.add_household``) one the index holds?

    ``members``: the person dicts entered with it (may be empty). Candidate households are
    those at the same door in the same grid (normalised address) and those holding a person
    that one of the members matches.

    * ``same``: the same door (address exact or close) in the same grid, with at least one
      member the same person, or the head's name agreeing (characters or pinyin), or the phone
      agreeing, and no member proven a different person with the same name (twins, namesakes).
    * ``maybe``: the same door alone; or a member the same person at another address; or two
      or more members the same at another door.
    * ``new``: otherwise.
    """
    cand = household_features(candidate_household)
    own = cand["id"]
    found = set()
    for key in cand["door_keys"]:
        found |= index._door_blocks.get(key, set())
    member_decisions = []
    for member in members:
        decision = index.lookup(member, exclude=(member.get("id"),) if member.get("id") else ())
        member_decisions.append(decision)
        for c in decision.candidates:
            hid = index.features(c.id).household_id if index.features(c.id) else None
            if hid is not None and hid in index._households:
                found.add(hid)
    found.discard(own)
    results = []
    for hid in found:
        other = index._households[hid]
        why, score = [], 0.0
        if cand["grid_id"] is not None and other["grid_id"] is not None and cand["grid_id"] != other["grid_id"]:
            door = "other-grid"
        else:
            door = compare_parsed(cand["address"], other["address"])
        if door is not None:
            score += HW_ADDRESS[door]
            why.append(f"address={door}")
        held = index._members.get(hid, set())
        n_same = n_maybe = n_conflict = 0
        for member, decision in zip(members, member_decisions):
            kinds = [c.kind for c in decision.candidates if c.id in held]
            if SAME in kinds:
                n_same += 1
            elif _namesake_conflict(member, held, index):
                n_conflict += 1
            elif MAYBE in kinds:
                n_maybe += 1
        score += min(n_same, 3) * HW_MEMBER_SAME + min(n_maybe, 3) * HW_MEMBER_MAYBE + n_conflict * HW_MEMBER_CONFLICT
        if n_same:
            why.append(f"members_same={n_same}")
        if n_maybe:
            why.append(f"members_maybe={n_maybe}")
        if n_conflict:
            why.append(f"namesakes_different={n_conflict}")
        head = None
        if cand["head"] and other["head"]:
            head = "exact" if cand["head"] == other["head"] else "homophone" if cand["head_py"] == other["head_py"] \
                else "different"
            score += HW_HEAD[head]
            why.append(f"head={head}")
        phone = phone_level(cand["phone"], other["phone"])
        if phone is not None:
            score += HW_PHONE[phone]
            why.append(f"phone={phone}")
        at_door = door in ("exact", "close")
        if at_door and not n_conflict and (n_same or head in ("exact", "homophone") or phone == "exact"):
            kind = SAME
        elif at_door or n_same:
            kind = MAYBE
        else:
            kind = NEW
        if kind != NEW:
            results.append(Candidate(hid, round(score, 2), tuple(why), kind))
    results.sort(key=lambda c: (c.kind != SAME, -c.score, str(c.id)))
    results = results[:limit]
    sames = [c for c in results if c.kind == SAME]
    if len(sames) == 1:
        return Decision(SAME, results)
    if sames or results:
        return Decision(MAYBE, results)                   # two households both "same": ask
    return Decision(NEW, results)


def _namesake_conflict(member, held, index):
    """True when a held member has the member's name but is proven another person (different
    valid ID numbers, or birth dates apart): twins and namesakes in one family."""
    feat = person_features(member)
    if not feat.name:
        return False
    for pid in held:
        other = index.features(pid)
        if other is None or other.name != feat.name:
            continue
        rule = compare(feat, other, index.names)[3]
        if rule in ("valid-ids-differ", "birth-dates-differ", "same-name-same-household-other-birth-date"):
            return True
    return False

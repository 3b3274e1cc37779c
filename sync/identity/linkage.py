"""Batch linkage of a whole register: which records are the same person.

``link_records(records)`` → ``{record_id: cluster_id}``:

1. features of every record (``keys.person_features``), in worker processes for large inputs;
2. blocking: records sharing a blocking key form a block; blocks larger than ``block_cap``
   (ID-number blocks: ``id_block_cap``) are skipped and counted, singletons cost nothing. The
   keys are held as 64-bit ``hash()`` values, one array per key kind (the workers are forked,
   so they hash alike); the surname + birth-date kind is left out (``BATCH_SKIP``);
3. every pair inside a block is scored once (by the first key kind the pair shares), in worker
   processes over groups of blocks; kept: the ``same`` pairs, the ``maybe`` pairs (those of
   rule 7 of ``score``, same if it is the only candidate, apart as ``weak``), and the *alias*
   pairs (a record whose only birth date is its ID number's, beside a household member of its
   name born a generation later: the number may be the member's parent's);
4. union-find over the ``same`` pairs, strongest first, refusing a union that would put two
   different valid ID numbers, or two birth dates that are different people's, in one cluster;
   then the weak pairs whose records fit nothing else; then the *unsure* records (neither birth
   date nor ID number, or an ID number that may be a parent's) join a cluster only when they
   point at one: one that looks the same as both a father and his namesake son joins neither
   (``cluster``);
5. the cluster id is the record id of the cluster's first record in input order.

Other ``maybe`` pairs are not linked: a wrong merge costs more than a missed one. Those whose
records end in two clusters are the review queue (``review_pairs``), counted in ``stats``.
"""
import multiprocessing
import os
from array import array
from collections import Counter

from .keys import KEY_KINDS, PersonFeatures, first_shared, key_tuple, person_features
from .score import MAYBE, ONLY_CANDIDATE, SAME, NameFrequency, birth_level, compare

BLOCK_CAP = 150
ID_BLOCK_CAP = 100            # more records on one number: a placeholder or a bulk error
PARALLEL_FROM = 20000
#: Years a parent is at least older than a child: a birth date a decade off is a typing slip.
GENERATION = 15          # records; below this everything runs in this process
#: Key kinds batch linkage leaves out: pairs found only through them are never ``same``.
BATCH_SKIP = (KEY_KINDS.index("s"),)
_CHUNK = 5000

# Set in the parent before the scoring pool forks, inherited by the workers.
_STATE = {}
_NONE = 0                       # a key slot without a key (a real hash of 0 is stored as 1)


def _hashes(f):
    return tuple(_NONE if k is None else (hash(k) or 1) for k in key_tuple(f))


def _features_chunk(chunk):
    start, rows = chunk
    feats = [person_features(r, start + k) for k, r in enumerate(rows)]
    return feats, [_hashes(f) for f in feats]


def _default_workers():
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class FeatureTable:
    """The features of a register, built chunk by chunk, with the blocking keys kept apart
    as one array of 64-bit hashes per key kind (the key strings are never all held at
    once). Equal strings (names and their pinyin, birth dates, parsed addresses) are shared
    between records, so a million records take about a gigabyte."""

    def __init__(self):
        self.feats = []
        self.hashes = [array("q") for _ in KEY_KINDS]
        self._names, self._births, self._addresses = {}, {}, {}

    def extend(self, feats, hashes):
        names, births, addresses = self._names, self._births, self._addresses
        out = self.feats
        for f in feats:
            nm = names.get(f.name)
            if nm is None:
                nm = names[f.name] = (f.name, f.py, f.py2, f.fz, f.sfz)
            birth = births.setdefault(f.birth, f.birth)
            address = f.address
            if address is not None:
                address = addresses.setdefault(address.canonical, address)
            out.append(PersonFeatures(f.rid, *nm, f.id18, f.id_valid, birth, f.birth_from_id, f.gender, f.phone,
                                      address, f.household_id, f.byear, f.id_foreign))
        for kind, column in enumerate(self.hashes):
            column.extend(h[kind] for h in hashes)

    def done(self):
        self._names = self._births = self._addresses = None
        return self


def compute_features(records, workers=1):
    """A ``FeatureTable`` of ``records`` (dicts), each ``rid`` set to its position."""
    table = FeatureTable()
    if workers <= 1 or len(records) < PARALLEL_FROM:
        for i in range(0, len(records), _CHUNK):
            table.extend(*_features_chunk((i, records[i:i + _CHUNK])))
        return table.done()
    chunks = ((i, records[i:i + _CHUNK]) for i in range(0, len(records), _CHUNK))
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        for feats, hashes in pool.imap(_features_chunk, chunks):
            table.extend(feats, hashes)
    return table.done()


def build_blocks(table, block_cap=BLOCK_CAP, id_block_cap=ID_BLOCK_CAP):
    """``(blocks, skipped)``: blocks as ``(kind index, [record positions])`` with 2..cap
    members; ``skipped`` counts the oversize blocks left out. One key kind at a time."""
    blocks = []
    skipped = 0
    for kind, column in enumerate(table.hashes):
        if kind in BATCH_SKIP:
            continue
        index = {}
        for pos, key in enumerate(column):
            if key == _NONE:
                continue
            found = index.get(key)
            if found is None:
                index[key] = pos
            elif type(found) is int:
                index[key] = [found, pos]
            else:
                found.append(pos)
        cap = id_block_cap if KEY_KINDS[kind] == "i" else block_cap
        for members in index.values():
            if type(members) is int:
                continue
            if len(members) > cap:
                skipped += 1
                continue
            blocks.append((kind, members))
        del index
    return blocks, skipped


def _score_blocks(span):
    feats, blocks, names = _STATE["feats"], _STATE["blocks"], _STATE["names"]
    same, maybe, weak, alias = [], [], [], []
    compared = [0] * len(KEY_KINDS)
    for kind, members in blocks[span[0]:span[1]]:
        n = len(members)
        for x in range(n - 1):
            a = feats[members[x]]
            for y in range(x + 1, n):
                b = feats[members[y]]
                # Scored once: only in the block of the first key kind the pair shares (a hash
                # collision can put a pair in a block of a kind it does not share: skipped too).
                if first_shared(a, b, BATCH_SKIP) != kind:
                    continue
                compared[kind] += 1
                verdict, score, levels, rule = compare(a, b, names)
                if verdict == SAME:
                    same.append((score, a.rid, b.rid))
                    continue
                if verdict == MAYBE:
                    maybe.append((score, a.rid, b.rid))
                    if rule == ONLY_CANDIDATE:
                        weak.append((score, a.rid, b.rid))
                if rule == "birth-dates-differ" and (a.birth_from_id or b.birth_from_id) and \
                        levels.get("name") in ("exact", "homophone") and \
                        (levels.get("address") in ("exact", "close") or levels.get("phone") in ("exact", "shared")):
                    # a record whose only birth date is its ID number's, with the name of a
                    # household member born a generation later: the number may be a parent's
                    alias.extend((x.rid, y.rid) for x, y in ((a, b), (b, a))
                                 if x.birth_from_id and y.birth and int(y.birth[:4]) - int(x.birth[:4]) >= GENERATION)
    return same, maybe, weak, alias, compared


def score_blocks(feats, blocks, names, workers=1):
    """``(same_pairs, maybe_pairs, weak_pairs, alias_pairs, pairs compared per key kind)``; pairs
    as ``(score, pos_a, pos_b)``. ``weak_pairs``: the ``maybe`` pairs that are the same person
    when nothing else fits (``score.ONLY_CANDIDATE``); ``alias_pairs``: ``(pos_a, pos_b)`` where
    a's birth date is only its ID number's and b, at a's door or phone with a's name, was born
    otherwise (the number may be b's parent's, typed on b's record)."""
    _STATE.update(feats=feats, blocks=blocks, names=names)
    try:
        if workers <= 1 or len(feats) < PARALLEL_FROM:
            return _score_blocks((0, len(blocks)))
        # Spans of about equal work (pairs), several per worker so that they even out.
        costs = [len(m) * (len(m) - 1) // 2 for _, m in blocks]
        target = max(1, sum(costs) // (workers * 16))
        spans, start, acc = [], 0, 0
        for i, cost in enumerate(costs):
            acc += cost
            if acc >= target:
                spans.append((start, i + 1))
                start, acc = i + 1, 0
        if start < len(blocks):
            spans.append((start, len(blocks)))
        same, maybe, weak, alias, compared = [], [], [], [], [0] * len(KEY_KINDS)
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            for part, unsure, only, aliases, n in pool.imap_unordered(_score_blocks, spans):
                same.extend(part)
                maybe.extend(unsure)
                weak.extend(only)
                alias.extend(aliases)
                compared = [x + y for x, y in zip(compared, n)]
        return same, maybe, weak, alias, compared
    finally:
        _STATE.clear()


class _Clusters:
    """Union-find whose roots remember the valid ID numbers and birth dates inside."""

    def __init__(self, feats):
        self.parent = list(range(len(feats)))
        self.feats = feats
        self.ids = {}      # root -> frozenset of valid ID numbers (only for clusters > 1)
        self.births = {}   # root -> frozenset of birth dates
        self.genders = {}  # root -> frozenset of genders

    def find(self, x):
        parent = self.parent
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def _ids(self, root):
        got = self.ids.get(root)
        if got is None:
            f = self.feats[root]
            got = frozenset((f.id18,)) if f.id_valid and not f.id_foreign else frozenset()
        return got

    def _births(self, root):
        got = self.births.get(root)
        if got is None:
            b = self.feats[root].birth
            got = frozenset((b,)) if b else frozenset()
        return got

    def _genders(self, root):
        got = self.genders.get(root)
        if got is None:
            g = self.feats[root].gender
            got = frozenset((g,)) if g else frozenset()
        return got

    def union(self, a, b, weak=False):
        """Join the clusters of a and b unless they hold two valid ID numbers or two birth
        dates of different people; ``weak`` (a join on context, not on a person's own
        evidence): also unless they hold both genders."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        ga, gb = self._genders(ra), self._genders(rb)
        if weak and len(ga | gb) > 1:
            return False
        ia, ib = self._ids(ra), self._ids(rb)
        if ia and ib and ia != ib:
            return False
        ba, bb = self._births(ra), self._births(rb)
        if ba and bb and ba != bb:
            for x in ba:
                for y in bb:
                    if birth_level(x, y) == "different":
                        return False
        if rb < ra:
            ra, rb = rb, ra
        self.parent[rb] = ra          # the smaller position is the root: the first record
        self.ids[ra] = ia | ib
        self.births[ra] = ba | bb
        self.genders[ra] = ga | gb
        self.ids.pop(rb, None)
        self.births.pop(rb, None)
        self.genders.pop(rb, None)
        return True


def _thin(f):
    """Neither a birth date (nor a year) nor an ID number of its own: a name and contact only."""
    return not f.birth and not f.byear and not (f.id18 and not f.id_foreign)


def cluster(feats, same_pairs, weak_pairs=(), alias_pairs=()):
    """Root position of each record after joining ``same_pairs``, and how many joins were refused.

    1. The pairs between records that carry a birth date or an ID number, strongest first.
    2. The weak pairs (``score.ONLY_CANDIDATE``: a name typed another way with the birth date,
       a common name with the birth date alone …) between such records, strongest first, each
       only when neither record has a weak pair to any third cluster: the record 李子 that fits
       both twins 李子涵 and 李子轩 joins neither.
    3. The *unsure* records: *thin* ones (neither birth date nor ID number: linked by name and
       phone or door alone), and those whose only birth date is an ID number that may be a
       parent's (``alias_pairs``). Unsure records that are the same join each other, and a
       group of them joins the one cluster its members are the same as or weakly fit (for an
       aliased record, the cluster of the household member it may be counts too); when they fit
       two clusters that are not one person (a father and his namesake son sharing the family
       phone and door), the group joins neither.
    """
    clusters = _Clusters(feats)
    refused = 0
    aliased = {}
    for a, b in alias_pairs:
        aliased.setdefault(a, set()).add(b)
    unsure = lambda x: x in aliased or _thin(feats[x])  # noqa: E731
    strong, soft = [], []
    for pair in same_pairs:
        (soft if unsure(pair[1]) or unsure(pair[2]) else strong).append(pair)
    for _, a, b in sorted(strong, key=lambda p: (-p[0], p[1], p[2])):
        if not clusters.union(a, b):
            refused += 1
    loose, attach = [], []
    for pair in weak_pairs:
        ua, ub = unsure(pair[1]), unsure(pair[2])
        if not ua and not ub:
            loose.append(pair)
        elif ua != ub:
            attach.append((pair[1], pair[2]) if ua else (pair[2], pair[1]))
    # 2. weak pairs between sure records: only between two clusters that fit nothing else
    fits = {}
    for _, a, b in loose:
        fits.setdefault(a, []).append(b)
        fits.setdefault(b, []).append(a)
    find = clusters.find
    for _, a, b in sorted(loose, key=lambda p: (-p[0], p[1], p[2])):
        ra, rb = find(a), find(b)
        if ra == rb:
            continue
        if {find(y) for y in fits[a]} - {ra} != {rb} or {find(y) for y in fits[b]} - {rb} != {ra}:
            refused += 1
            continue
        if not clusters.union(a, b, weak=True):
            refused += 1
    # 3. the unsure records
    groups = {}                                  # unsure record -> its parent among unsure records

    def gfind(x):
        root = x
        while groups.setdefault(root, root) != root:
            root = groups[root]
        while groups[x] != root:
            groups[x], x = root, groups[x]
        return root

    for _, a, b in soft:
        ta, tb = unsure(a), unsure(b)
        if ta and tb:
            ra, rb = gfind(a), gfind(b)
            if ra != rb:
                groups[max(ra, rb)] = min(ra, rb)
        else:
            attach.append((a, b) if ta else (b, a))
    for x in aliased:
        gfind(x)
    targets = {}
    for thin, other in attach:
        targets.setdefault(gfind(thin), set()).add(find(other))
    for x, others in aliased.items():
        targets.setdefault(gfind(x), set()).update(find(y) for y in others)
    members = {}
    for x in list(groups):
        members.setdefault(gfind(x), []).append(x)
    for thin, other in attach:
        members.setdefault(gfind(thin), [thin])
    for root, group in members.items():
        roots = targets.get(root, set())
        for x in group[1:]:
            clusters.union(group[0], x)
        if len(roots) == 1:
            clusters.union(group[0], next(iter(roots)), weak=True)
        elif len(roots) > 1:
            refused += 1
    roots = [find(i) for i in range(len(feats))]
    return roots, refused


def name_frequency(feats):
    """The register's name counts, and its shared phones (``shared_phones``)."""
    counts = Counter(f.name for f in feats if f.name)
    return NameFrequency(dict(counts), sum(counts.values()), shared_phones=shared_phones(feats))


def shared_phones(feats):
    """Phones the register shows on more than one person: on records whose own valid ID numbers
    differ, or whose birth dates are different people's (a household's phone typed on every
    member's record: a parent and a namesake son, twins, a spouse). Such a phone says "the same
    family", not "the same person"."""
    seen = {}                    # phone -> (ID number, birth) of its first record
    shared = set()
    for f in feats:
        if not f.phone or f.phone in shared:
            continue
        own_id = f.id18 if f.id_valid and not f.id_foreign else ""
        first = seen.get(f.phone)
        if first is None:
            seen[f.phone] = [(own_id, f.birth)]
            continue
        for other_id, other_birth in first:
            if (own_id and other_id and own_id != other_id) or \
                    (f.birth and other_birth and birth_level(f.birth, other_birth) == "different"):
                shared.add(f.phone)
                break
        else:
            if len(first) < 4:
                first.append((own_id, f.birth))
    return frozenset(shared)


def review_pairs(roots, maybe_pairs):
    """The ``maybe`` pairs a person is asked about: those whose records did not end up in one
    cluster, one per pair of clusters (the best), best first, as ``(score, pos_a, pos_b)``."""
    best = {}
    for score, a, b in maybe_pairs:
        ra, rb = roots[a], roots[b]
        if ra == rb:
            continue
        key = (ra, rb) if ra < rb else (rb, ra)
        if key not in best or score > best[key][0]:
            best[key] = (score, a, b)
    return sorted(best.values(), key=lambda p: (-p[0], p[1], p[2]))


def link_features(table, *, workers=1, block_cap=BLOCK_CAP, stats=None, review=None):
    """Cluster roots (positions) for a ``FeatureTable`` (each ``rid`` its position).
    ``review``: a list to extend with the pairs for a person to decide (``review_pairs``)."""
    feats = table.feats
    names = name_frequency(feats)
    blocks, skipped = build_blocks(table, block_cap)
    table.hashes = None
    same, maybe, weak, alias, compared = score_blocks(feats, blocks, names, workers)
    roots, refused = cluster(feats, same, weak, alias)
    asked = review_pairs(roots, maybe)
    if review is not None:
        review.extend(asked)
    if stats is not None:
        stats.update(records=len(feats), blocks=len(blocks), oversize_blocks_skipped=skipped,
                     pairs_compared=sum(compared),
                     pairs_by_key="/".join(f"{k}:{n}" for k, n in zip(KEY_KINDS, compared)),
                     same_pairs=len(same), weak_pairs=len(weak), alias_pairs=len(alias), unions_refused=refused,
                     clusters=len(set(roots)), review_pairs=len(asked))
    return roots


def link_records(records, *, workers=None, block_cap=BLOCK_CAP, stats=None, review=None):
    """``{record_id: cluster_id}`` for person dicts (``record_id`` or ``id``, and any of
    ``name, id_number, gender, birth_date, phone, address``). Records of one person share a
    cluster id: the id of the cluster's first record. ``workers``: processes (default: the
    CPUs this process may use; inputs under 20,000 records run in this process); ``stats``:
    a dict to fill with counts; ``review``: a list to extend with ``(record_id, record_id,
    score)`` of the pairs left for a person to decide (``maybe``, not linked)."""
    records = list(records)
    ids = [r.get("record_id", r.get("id")) for r in records]
    if len(set(ids)) != len(ids):
        raise ValueError("record ids must be unique")
    workers = _default_workers() if workers is None else workers
    table = compute_features(records, workers)
    asked = [] if review is not None else None
    roots = link_features(table, workers=workers, block_cap=block_cap, stats=stats, review=asked)
    if review is not None:
        review.extend((ids[a], ids[b], round(score, 2)) for score, a, b in asked)
    return {ids[i]: ids[root] for i, root in enumerate(roots)}

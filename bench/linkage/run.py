"""Identity linkage benchmark: accuracy, device lookup latency, batch linkage throughput.

1. **accuracy**: a generated population (``--accuracy-persons``, ~1.67 typed records each, with
   typing errors and look-alikes; see generate.py) linked with ``link_records``; pairwise
   precision, recall and F1 against the ground truth, the recall per kind of typing error,
   look-alikes merged, and the review queue (pairs left for a person, per 10,000 records).
   Target: precision ≥ 0.995, recall ≥ 0.96, F1 ≥ 0.975, no look-alike merged.
2. **device lookup**: a ``PersonIndex`` holding ``--device-persons`` persons (one typed record
   each, with their households), then ``--lookups`` lookups, half of them other typed copies of
   held persons, half of them persons the index does not hold; per-lookup latency p50/p95/p99
   and how the decisions came out. Target: p95 < 20 ms.
3. **batch linkage**: ``--records`` typed records written to a CSV, linked by the command
   (``sync.identity.linkcsv.main``: read, features, blocking, scoring, clustering, write), and,
   on the same file, a plain exact-ID join (group rows by the ID column as typed, write the
   same output): records/s of both and their ratio, plus the accuracy of both. Target:
   1,000,000 records in under 5 minutes (when ``--records`` is smaller, the time is
   extrapolated linearly and marked so).

The last line is ``RESULT precision=… recall=… f1=… lookalikes_merged=… review_per_10k=…
lookup_p95_ms=… batch_per_s=…``.

    python bench/linkage/run.py [--records 1000000] [--accuracy-persons 30000]
                                [--device-persons 50000] [--lookups 2000] [--seed 7] [--skip-batch]
"""
import argparse
import csv
import os
import random
import resource
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, HERE)

from generate import generate, generate_records  # noqa: E402
from score import format_scores, pairwise  # noqa: E402

from sync.identity.linkage import link_records  # noqa: E402
from sync.identity.linkcsv import COLUMNS, OPTIONAL, main as linkcsv_main  # noqa: E402
from sync.identity.match import PersonIndex  # noqa: E402

TARGET_PRECISION, TARGET_RECALL, TARGET_F1 = 0.995, 0.96, 0.975
TARGET_P95_MS, TARGET_BATCH_S, BATCH_SIZE = 20.0, 300.0, 1_000_000


def met(ok):
    return "target met" if ok else "TARGET NOT MET"


def accuracy(args):
    print(f"== accuracy: {args.accuracy_persons:,} persons, seed {args.seed}")
    started = time.perf_counter()
    pop = generate(args.accuracy_persons, seed=args.seed)
    lookalikes = _lookalike_counts(pop)
    print(f"generated {len(pop.records):,} records of {len(pop.persons):,} persons in "
          f"{time.perf_counter() - started:.1f} s; look-alikes: {lookalikes}")
    stats, review = {}, []
    started = time.perf_counter()
    clusters = link_records(pop.records, stats=stats, review=review)
    took = time.perf_counter() - started
    scores = pairwise(clusters, pop.truth)
    print(f"linked in {took:.1f} s: " + ", ".join(f"{k}={v:,}" if isinstance(v, int) else f"{k}={v}"
                                                for k, v in stats.items()))
    print(format_scores(scores))
    _recall_by_kind(clusters, pop)
    merged = _wrong_merges(clusters, pop)
    n_lookalike = sum(merged.values()) if isinstance(merged, dict) else 0
    print(f"wrong merges by kind of look-alike: {merged}")
    per_10k = len(review) / len(pop.records) * 10000
    right = sum(1 for a, b, _ in review if pop.truth[a] == pop.truth[b])
    print(f"review queue: {len(review):,} pairs for a person to decide, {per_10k:.0f} per 10,000 records "
          f"({right:,} of them one person, {len(review) - right:,} two)")
    ok = scores["precision"] >= TARGET_PRECISION and scores["recall"] >= TARGET_RECALL \
        and scores["f1"] >= TARGET_F1 and n_lookalike == 0
    print(f"accuracy: precision {scores['precision']:.4f} (target >= {TARGET_PRECISION}), recall "
          f"{scores['recall']:.4f} (target >= {TARGET_RECALL}), f1 {scores['f1']:.4f} (target >= {TARGET_F1}), "
          f"look-alikes merged {n_lookalike} (target 0): {met(ok)}")
    scores.update(lookalikes_merged=n_lookalike, review_per_10k=per_10k)
    return scores, ok


def _recall_by_kind(clusters, pop):
    """Recall of the true pairs by the kinds of error typed into either record of the pair
    (a pair counts under every kind it holds; ``none`` is a pair with none of them)."""
    from collections import defaultdict
    from itertools import combinations
    from sync.identity import is_valid_id_number, normalize_id_number
    by_pid = defaultdict(list)
    for rid, pid in pop.truth.items():
        by_pid[pid].append(rid)
    typed = {r["record_id"]: r for r in pop.records}
    valid = {}
    for rid, r in typed.items():
        number = r["id_number"].replace(" ", "")
        valid[rid] = normalize_id_number(number) if len(number) == 18 and is_valid_id_number(number) else None
    total, linked = defaultdict(int), defaultdict(int)
    for rids in by_pid.values():
        for a, b in combinations(rids, 2):
            kinds = set(pop.kinds.get(a, ())) | set(pop.kinds.get(b, ()))
            if "id_missing" in pop.kinds.get(a, ()) and "id_missing" in pop.kinds.get(b, ()):
                kinds.add("id_missing_both")
            if valid[a] and valid[a] == valid[b]:
                kinds.add("same_valid_id")
                if kinds & {"birth_year_typo", "birth_swap", "birth_typo", "birth_lunar", "birth_year_only"}:
                    kinds.add("same_valid_id_birth_differs")
            for kind in kinds or ("none",):
                total[kind] += 1
                linked[kind] += clusters[a] == clusters[b]
    rows = sorted(total, key=lambda k: linked[k] / total[k])
    print("recall by kind of error in the pair (pairs; share linked):")
    for kind in rows:
        print(f"  {kind:<20} {total[kind]:>7,}  {linked[kind] / total[kind]:.3f}")


def _lookalike_counts(pop):
    from collections import Counter
    twins = namesakes = 0
    for hh in pop.households.values():
        births = Counter((p.birth, p.relation) for p in hh.members if p.relation == "child")
        twins += sum(1 for n in births.values() if n > 1)
        names = Counter(p.name for p in hh.members)
        namesakes += sum(1 for n in names.values() if n > 1)
    by_grid = Counter((pop.households[p.hid].grid, p.name) for p in pop.persons)
    common = sum(1 for n in by_grid.values() if n > 1)
    return f"twin pairs {twins:,}, same-name pairs in one household {namesakes:,}, " \
           f"names held by 2+ persons of one community {common:,}"


def _wrong_merges(clusters, pop):
    from collections import defaultdict
    persons = {p.pid: p for p in pop.persons}
    members = defaultdict(set)
    for rid, c in clusters.items():
        members[c].add(pop.truth[rid])
    kinds = defaultdict(int)
    for pids in members.values():
        if len(pids) < 2:
            continue
        ps = [persons[p] for p in pids]
        same_hh = len({p.hid for p in ps}) == 1
        if same_hh and len({p.birth for p in ps}) == 1:
            kinds["twins"] += 1
        elif same_hh and len({p.name for p in ps}) == 1:
            kinds["namesakes in one household"] += 1
        elif same_hh and {p.relation for p in ps} & {"child"} and {p.relation for p in ps} & {"head", "spouse"}:
            kinds["parent and child (a parent's ID on the child's record, a shared phone)"] += 1
        elif same_hh:
            kinds["other members of one household"] += 1
        elif len({p.name for p in ps}) == 1:
            kinds["same name, different households"] += 1
        else:
            kinds["other"] += 1
    return dict(kinds) or "none"


def device(args):
    print(f"== device lookup: {args.device_persons:,} persons in a PersonIndex, {args.lookups:,} lookups")
    pop = generate(int(args.device_persons * 1.15) + args.lookups, seed=args.seed + 1)
    first, others = {}, {}
    for rec in pop.records:
        pid = pop.truth[rec["record_id"]]
        (others.setdefault(pid, []) if pid in first else first.setdefault(pid, [])).append(rec)
    persons = {p.pid: p for p in pop.persons}
    held = list(first)[:args.device_persons]
    held_set = set(held)
    not_held = [pid for pid in first if pid not in held_set]
    rows = []
    for pid in held:
        rec = dict(first[pid][0], id=f"p{pid}", household_id=persons[pid].hid)
        rec.pop("record_id")
        rows.append(rec)
    held_households = {persons[p].hid: pop.households[persons[p].hid] for p in held}.values()
    households = [{"id": hh.hid, "grid_id": hh.grid, "address": hh.community["street"] + hh.community["name"],
                   "building": str(hh.building), "unit": str(hh.unit), "room": str(hh.room),
                   "head_name": persons[hh.head].name} for hh in held_households]
    started = time.perf_counter()
    index = PersonIndex(rows, households)
    built = time.perf_counter() - started
    print(f"index of {len(index):,} persons and {len(households):,} households built in {built:.2f} s "
          f"({len(index) / built:,.0f} persons/s)")
    rng = random.Random(args.seed)
    dup_pids = [pid for pid in held if pid in others]
    queries = [(others[pid][0], f"p{pid}") for pid in rng.sample(dup_pids, min(args.lookups // 2, len(dup_pids)))]
    queries += [(first[pid][0], None) for pid in rng.sample(not_held, min(args.lookups - len(queries), len(not_held)))]
    rng.shuffle(queries)
    for rec, _ in queries[:50]:                      # warm-up: pinyin dictionaries, caches
        index.lookup(rec)
    times, tally = [], {}
    for rec, truth in queries:
        started = time.perf_counter_ns()
        decision = index.lookup(rec)
        times.append((time.perf_counter_ns() - started) / 1e6)
        if truth is None:
            outcome = "not held -> " + decision.kind
        elif decision.kind == "same":
            outcome = "held -> same (right one)" if decision.candidates[0].id == truth else "held -> same (WRONG one)"
        elif decision.kind == "maybe":
            outcome = "held -> maybe, right one listed" if any(c.id == truth for c in decision.candidates) \
                else "held -> maybe, not listed"
        else:
            outcome = "held -> new"
        tally[outcome] = tally.get(outcome, 0) + 1
    times.sort()
    p50, p95, p99 = (times[int(q * (len(times) - 1))] for q in (0.5, 0.95, 0.99))
    print(f"lookup latency: p50 {p50:.3f} ms, p95 {p95:.3f} ms, p99 {p99:.3f} ms, max {times[-1]:.3f} ms, "
          f"mean {statistics.fmean(times):.3f} ms")
    print("decisions: " + ", ".join(f"{k}: {v}" for k, v in sorted(tally.items())))
    _household_lookups(index, pop, list(held_households), rng)
    ok = bool(times) and p95 < TARGET_P95_MS
    print(f"device lookup p95 {p95:.3f} ms (target < {TARGET_P95_MS:.0f} ms): {met(ok)}")
    return p95, ok


def _household_lookups(index, pop, held, rng, n=500):
    """The same households entered again at their door (address typed another way, members
    as typed on another visit): how often ``match_household`` says same, and how fast."""
    from generate import Generator
    from sync.identity.match import match_household
    typist = Generator(seed=rng.randrange(1 << 30))
    by_hid = {}
    for rec in pop.records:
        by_hid.setdefault(pop.truth[rec["record_id"]], rec)
    times, tally = [], {}
    for hh in rng.sample(held, min(n, len(held))):
        candidate = {"id": "new-" + hh.hid, "grid_id": hh.grid, "address": typist.typed_address(hh) or
                     hh.community["name"] + f"{hh.building}栋{hh.unit}单元{hh.room}室"}
        members = [dict(by_hid[p.pid], household_id=candidate["id"]) for p in hh.members[:2]]
        started = time.perf_counter_ns()
        decision = match_household(candidate, members, index)
        times.append((time.perf_counter_ns() - started) / 1e6)
        right = decision.candidates and decision.candidates[0].id == hh.hid
        outcome = f"{decision.kind}{' (right one)' if right else ''}" if decision.kind != "new" else "new"
        tally[outcome] = tally.get(outcome, 0) + 1
    times.sort()
    print(f"household lookups ({len(times)}, same door re-entered with 2 members): p95 "
          f"{times[int(0.95 * (len(times) - 1))]:.3f} ms; " + ", ".join(f"{k}: {v}" for k, v in sorted(tally.items())))


def _exact_id_join(src, dst):
    """The baseline: rows with the same ID column, as typed, are one person; write the result."""
    with open(src, encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rid, col = header.index("record_id"), header.index("id_number")
        first, out = {}, []
        for row in reader:
            key = row[col]
            out.append((row[rid], first.setdefault(key, row[rid]) if key else row[rid]))
    with open(dst, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(("record_id", "cluster_id"))
        writer.writerows(out)
    return len(out)


def _read_clusters(path):
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        next(reader)
        return {r: c for r, c in reader}


def batch(args):
    n = args.records
    print(f"== batch linkage: {n:,} records, {args.workers or os.cpu_count()} worker processes")
    started = time.perf_counter()
    records, truth = generate_records(n, seed=args.seed + 2)
    with tempfile.TemporaryDirectory(prefix="linkage-bench-") as tmp:
        src, out, base = (os.path.join(tmp, f) for f in ("records.csv", "clusters.csv", "exact.csv"))
        with open(src, "w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=COLUMNS + OPTIONAL, lineterminator="\n")
            writer.writeheader()
            writer.writerows(records)
        size_mb = os.path.getsize(src) / 1e6
        print(f"generated and wrote {len(records):,} records ({size_mb:.0f} MB CSV) in "
              f"{time.perf_counter() - started:.1f} s")
        del records
        sys.stdout.flush()
        argv = [src, out, "--stats"] + (["--workers", str(args.workers)] if args.workers else [])
        started, cpu = time.perf_counter(), os.times()
        code = linkcsv_main(argv)
        took = time.perf_counter() - started
        after = os.times()
        cpu_s = sum(after[:4]) - sum(cpu[:4])
        if code != 0:
            raise SystemExit(f"linkcsv failed with status {code}")
        started = time.perf_counter()
        _exact_id_join(src, base)
        base_took = time.perf_counter() - started
        ours, exact = _read_clusters(out), _read_clusters(base)
    rate, base_rate = n / took, n / base_took
    print(f"linkage (linkcsv): {took:.1f} s, {rate:,.0f} records/s; {cpu_s:.0f} CPU-s in all processes "
          f"({n / cpu_s:,.0f} records per CPU-second; {cpu_s / took:.0%} of the wall time x 1 CPU, of a possible "
          f"{os.cpu_count() * 100}%: less means other processes took the CPUs)")
    print(f"exact-ID join baseline: {base_took:.1f} s, {base_rate:,.0f} records/s")
    print(f"ratio: linkage takes {took / base_took:.1f}x the time of the exact-ID join "
          f"(records/s ratio {rate / base_rate:.3f})")
    print("linkage:        " + format_scores(pairwise(ours, truth)))
    print("exact-ID join:  " + format_scores(pairwise(exact, truth)))
    peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peak_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak memory: this process {peak_self:,.0f} MB, largest worker {peak_children:,.0f} MB")
    projected = BATCH_SIZE / rate
    if n >= BATCH_SIZE:
        ok = took < TARGET_BATCH_S
        print(f"batch: {n:,} records in {took:.1f} s (target < {TARGET_BATCH_S:.0f} s): {met(ok)}")
    else:
        ok = projected < TARGET_BATCH_S
        print(f"batch: {n:,} records in {took:.1f} s; 1,000,000 extrapolated linearly: {projected:.0f} s "
              f"(target < {TARGET_BATCH_S:.0f} s): {met(ok)} (extrapolated)")
    return rate, ok


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=BATCH_SIZE, help="records for the batch part")
    parser.add_argument("--accuracy-persons", type=int, default=30000)
    parser.add_argument("--device-persons", type=int, default=50000)
    parser.add_argument("--lookups", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-batch", action="store_true")
    args = parser.parse_args(argv)
    scores, acc_ok = accuracy(args)
    print()
    p95, dev_ok = device(args)
    print()
    rate, batch_ok = (None, None) if args.skip_batch else batch(args)
    print()
    verdicts = [("accuracy", acc_ok), ("device lookup", dev_ok)] + ([] if batch_ok is None else [("batch", batch_ok)])
    print("summary: " + "; ".join(f"{name} {met(ok)}" for name, ok in verdicts))
    print(f"RESULT precision={scores['precision']:.4f} recall={scores['recall']:.4f} f1={scores['f1']:.4f} "
          f"lookalikes_merged={scores['lookalikes_merged']} review_per_10k={scores['review_per_10k']:.0f} "
          f"lookup_p95_ms={p95:.3f} batch_per_s={'skipped' if rate is None else f'{rate:.0f}'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

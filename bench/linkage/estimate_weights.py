"""Check the m/u probabilities of sync/identity/score.py against a generated population.

m of a level: its share among pairs of records of the same person (all such pairs);
u of a level: its share among pairs of records of different persons (a uniform random sample).
Printed next to the values the engine uses, with the log2(m/u) weights. The engine's values
were set by reasoning about typing and checked here; they need not equal these estimates (the
generator's error rates are themselves a guess, and u over a random sample of a synthetic city
is lower than among neighbours), but an order-of-magnitude disagreement would be a bug.

    python bench/linkage/estimate_weights.py [--persons 20000] [--pairs 300000] [--seed 7]
"""
import argparse
import os
import random
import sys
from collections import Counter, defaultdict
from math import log2

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, HERE)

from generate import generate  # noqa: E402

from sync.identity.address import compare_parsed  # noqa: E402
from sync.identity.keys import person_features  # noqa: E402
from sync.identity.score import (DEFAULT_NAME_U, W_ADDRESS, W_BIRTH, W_GENDER, W_ID, W_NAME,  # noqa: E402
                                 W_NAME_EXACT_M, W_PHONE, birth_level, id_level, name_level, phone_level)

ENGINE = {"id": W_ID, "name": dict(W_NAME, exact=log2(W_NAME_EXACT_M / DEFAULT_NAME_U)), "birth": W_BIRTH,
          "gender": W_GENDER, "phone": W_PHONE, "address": W_ADDRESS}


def levels(a, b):
    out = {"id": id_level(a, b), "name": name_level(a, b), "birth": birth_level(a.birth, b.birth),
           "phone": phone_level(a.phone, b.phone)}
    out["gender"] = None if not (a.gender and b.gender) else "agree" if a.gender == b.gender else "different"
    out["address"] = compare_parsed(a.address, b.address) if a.address is not None and b.address is not None else None
    return out


def tally(pairs, feats):
    counts = defaultdict(Counter)
    for x, y in pairs:
        for field, level in levels(feats[x], feats[y]).items():
            if level is not None:
                counts[field][level] += 1
    return counts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=20000)
    parser.add_argument("--pairs", type=int, default=300000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    pop = generate(args.persons, seed=args.seed)
    feats = [person_features(r) for r in pop.records]
    owner = [pop.truth[r["record_id"]] for r in pop.records]
    by_person = defaultdict(list)
    for i, pid in enumerate(owner):
        by_person[pid].append(i)
    matches = [(x, y) for group in by_person.values() for i, x in enumerate(group) for y in group[i + 1:]]
    rng = random.Random(args.seed)
    n = len(feats)
    non = []
    while len(non) < args.pairs:
        x, y = rng.randrange(n), rng.randrange(n)
        if owner[x] != owner[y]:
            non.append((x, y))
    m, u = tally(matches, feats), tally(non, feats)
    print(f"{len(matches):,} pairs of one person, {len(non):,} random pairs of two persons "
          f"({len(feats):,} records of {args.persons:,} persons)")
    print(f"{'field':8} {'level':16} {'m est':>8} {'u est':>10} {'w est':>7} {'w engine':>9}")
    for field in ("id", "name", "birth", "gender", "phone", "address"):
        mt, ut = sum(m[field].values()) or 1, sum(u[field].values()) or 1
        for level in sorted(set(m[field]) | set(u[field]) | set(ENGINE[field]), key=str):
            me, ue = m[field][level] / mt, u[field][level] / ut
            west = f"{log2(me / ue):+7.1f}" if me and ue else "      -"
            weng = ENGINE[field].get(level)
            weng = f"{weng:+9.1f}" if weng is not None else "        -"
            print(f"{field:8} {level:16} {me:8.4f} {ue:10.2e} {west} {weng}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Pairwise precision, recall and F1 of a clustering against the ground truth.

A pair of records is *predicted* when both records share a cluster id, *true* when both are
records of one person. Precision = true predicted pairs / predicted pairs, recall = true
predicted pairs / true pairs. Counted from cluster sizes, without listing pairs.

    python bench/linkage/score.py CLUSTERS.csv TRUTH.csv
(CLUSTERS: record_id,cluster_id; TRUTH: record_id,person_id)
"""
import csv
import sys
from collections import Counter


def _pairs(n):
    return n * (n - 1) // 2


def pairwise(predicted, truth):
    """``{precision, recall, f1, predicted_pairs, true_pairs, correct_pairs}`` for two maps
    ``record_id → cluster`` over the same records."""
    missing = truth.keys() - predicted.keys()
    if missing:
        raise ValueError(f"{len(missing)} records have no predicted cluster, e.g. {next(iter(missing))}")
    pred_sizes = Counter(predicted[r] for r in truth)
    true_sizes = Counter(truth.values())
    both = Counter((predicted[r], truth[r]) for r in truth)
    predicted_pairs = sum(_pairs(n) for n in pred_sizes.values())
    true_pairs = sum(_pairs(n) for n in true_sizes.values())
    correct = sum(_pairs(n) for n in both.values())
    precision = correct / predicted_pairs if predicted_pairs else 1.0
    recall = correct / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "predicted_pairs": predicted_pairs,
            "true_pairs": true_pairs, "correct_pairs": correct}


def format_scores(s):
    return (f"pairwise precision={s['precision']:.4f} recall={s['recall']:.4f} f1={s['f1']:.4f} "
            f"(pairs: predicted {s['predicted_pairs']:,}, true {s['true_pairs']:,}, correct {s['correct_pairs']:,})")


def _read(path, value):
    with open(path, encoding="utf-8-sig", newline="") as f:
        return {row["record_id"]: row[value] for row in csv.DictReader(f)}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    print(format_scores(pairwise(_read(argv[0], "cluster_id"), _read(argv[1], "person_id"))))
    return 0


if __name__ == "__main__":
    sys.exit(main())

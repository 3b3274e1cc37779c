"""Link a register in a CSV file: which rows are the same person.

    python -m sync.identity.linkcsv INPUT.csv OUTPUT.csv [--workers N] [--stats]

INPUT is UTF-8 (a byte-order mark is allowed) with a header naming at least the columns
``record_id,name,id_number,gender,birth_date,phone,address`` in any order, and optionally
``source`` (the list a row came from: a school list's rows are pupils', see ``keys``); others
are ignored; any but ``record_id`` may be empty on a row. OUTPUT gets ``record_id,cluster_id``, one
row per input row in input order; rows of one person share a cluster id, the record id of
that person's first row. ``-`` reads standard input or writes standard output.

Exit status: 0 done; 2 bad input (missing column, empty or repeated record id, not UTF-8), with
the reason on standard error.
"""
import argparse
import csv
import io
import multiprocessing
import os
import sys
import time

from .keys import person_features
from .linkage import _CHUNK, PARALLEL_FROM, FeatureTable, _default_workers, _hashes, link_features

COLUMNS = ("record_id", "name", "id_number", "gender", "birth_date", "phone", "address")
FIELDS = COLUMNS[1:]
OPTIONAL = ("source",)


class InputError(Exception):
    pass


def _rows_to_features(task):
    start, rows, positions = task
    feats = []
    for k, row in enumerate(rows):
        record = {field: (row[i] if i < len(row) else "") for field, i in positions.items()}
        feats.append(person_features(record, start + k))
    return feats, [_hashes(f) for f in feats]


def _chunks(reader, id_col, ids, seen):
    chunk, start, line = [], 0, 1
    for row in reader:
        line += 1
        if not row:
            continue
        rid = row[id_col].strip() if id_col < len(row) else ""
        if not rid:
            raise InputError(f"line {line}: empty record_id")
        if rid in seen:
            raise InputError(f"line {line}: record_id {rid!r} appears twice")
        seen.add(rid)
        ids.append(rid)
        chunk.append(row)
        if len(chunk) == _CHUNK:
            yield start, chunk
            start += len(chunk)
            chunk = []
    if chunk:
        yield start, chunk


def read_features(stream, workers=1):
    """``(record ids, FeatureTable)`` of a CSV stream; raises InputError on a bad header or row."""
    reader = csv.reader(stream)
    try:
        header = next(reader)
    except StopIteration:
        raise InputError("the input is empty: it needs a header line with " + ",".join(COLUMNS)) from None
    header = [h.strip().lstrip("\ufeff").lower() for h in header]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise InputError(f"missing column{'s' if len(missing) > 1 else ''}: {', '.join(missing)} "
                         f"(the header must name {','.join(COLUMNS)}; it names {','.join(header)})")
    positions = {field: header.index(field) for field in FIELDS + tuple(c for c in OPTIONAL if c in header)}
    id_col = header.index("record_id")
    ids, seen, table = [], set(), FeatureTable()
    tasks = ((start, rows, positions) for start, rows in _chunks(reader, id_col, ids, seen))
    if workers <= 1:
        for task in tasks:
            table.extend(*_rows_to_features(task))
    else:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            for feats, hashes in pool.imap(_rows_to_features, tasks, chunksize=1):
                table.extend(feats, hashes)
    return ids, table.done()


def link_stream(source, *, workers=None, stats=None):
    """``(record ids, cluster ids)`` for the CSV text stream ``source``."""
    workers = _default_workers() if workers is None else workers
    started, cpu = time.perf_counter(), os.times()
    ids, table = read_features(source, workers)
    if stats is not None:
        after = os.times()
        stats.update(read_s=round(time.perf_counter() - started, 2),
                     read_cpu_s=round(after.user + after.system - cpu.user - cpu.system, 1),
                     read_workers_cpu_s=round(after.children_user + after.children_system
                                              - cpu.children_user - cpu.children_system, 1))
    roots = link_features(table, workers=workers if len(ids) >= PARALLEL_FROM else 1, stats=stats)
    if stats is not None:
        after = os.times()
        stats.update(link_s=round(time.perf_counter() - started, 2),
                     cpu_s=round(after.user + after.system - cpu.user - cpu.system, 1),
                     workers_cpu_s=round(after.children_user + after.children_system
                                         - cpu.children_user - cpu.children_system, 1))
    return ids, [ids[r] for r in roots]


def write_clusters(target, ids, clusters):
    writer = csv.writer(target, lineterminator="\n")
    writer.writerow(("record_id", "cluster_id"))
    writer.writerows(zip(ids, clusters))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m sync.identity.linkcsv",
                                     description="Link person records: which rows are the same person.")
    parser.add_argument("input", help="UTF-8 CSV with record_id,name,id_number,gender,birth_date,phone,address "
                                      "('-': standard input)")
    parser.add_argument("output", help="CSV to write record_id,cluster_id to ('-': standard output)")
    parser.add_argument("--workers", type=int, default=None, help="processes to use (default: all CPUs)")
    parser.add_argument("--stats", action="store_true", help="print counts and timings to standard error")
    args = parser.parse_args(argv)
    if args.workers is not None and args.workers < 1:
        parser.error("--workers must be at least 1")
    stats = {} if args.stats else None
    started = time.perf_counter()
    try:
        source = (io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", newline="") if args.input == "-"
                  else open(args.input, encoding="utf-8-sig", newline=""))
    except OSError as exc:
        print(f"linkcsv: cannot read {args.input}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        with source:
            ids, clusters = link_stream(source, workers=args.workers, stats=stats)
    except InputError as exc:
        print(f"linkcsv: {args.input}: {exc}", file=sys.stderr)
        return 2
    except UnicodeDecodeError:
        print(f"linkcsv: {args.input} is not UTF-8 text", file=sys.stderr)
        return 2
    except csv.Error as exc:
        print(f"linkcsv: {args.input}: not a readable CSV file: {exc}", file=sys.stderr)
        return 2
    try:
        if args.output == "-":
            write_clusters(sys.stdout, ids, clusters)
        else:
            with open(args.output, "w", encoding="utf-8", newline="") as target:
                write_clusters(target, ids, clusters)
    except OSError as exc:
        print(f"linkcsv: cannot write {args.output}: {exc.strerror}", file=sys.stderr)
        return 2
    if stats is not None:
        stats["total_s"] = round(time.perf_counter() - started, 2)
        print("linkcsv: " + " ".join(f"{k}={v}" for k, v in stats.items()), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

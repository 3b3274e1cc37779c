"""Link a register in a CSV file: which rows are the same person.

    python -m sync.identity.linkcsv INPUT.csv OUTPUT.csv [--workers N] [--stats]

INPUT is a register as a spreadsheet saves it: UTF-8 (a byte-order mark is allowed), or the
GB18030/GBK that a spreadsheet on a Chinese system saves as "CSV", or UTF-16 with its byte-order
mark ("Unicode text"); commas, or tabs when the header has tabs and no commas. The header names
the columns in English or Chinese, in any order (``HEADERS``): ``record_id`` (编号, 序号),
``name`` (姓名), ``id_number`` (身份证号, 公民身份号码), ``gender`` (性别), ``birth_date`` (出生日期,
出生年月), ``phone`` (联系电话, 手机号), ``address`` (住址, 现住址, 家庭住址), and optionally
``source`` (来源: the list a row came from; a school list's rows are pupils', see ``keys``);
other columns are ignored. A name column is needed; any other may be missing (its cells count
as empty), and any cell but the record id may be empty. Without a record id column each row is
named by its line number in the file. OUTPUT gets ``record_id,cluster_id`` (UTF-8), one row per
input row in input order; rows of one person share a cluster id, the record id of that person's
first row. ``-`` reads standard input or writes standard output.

Exit status: 0 done; 2 bad input (no name column, empty or repeated record id, text in no known
encoding), with the reason on standard error.
"""
import argparse
import csv
import io
import itertools
import multiprocessing
import os
import sys
import time
import unicodedata

from .keys import person_features
from .linkage import _CHUNK, PARALLEL_FROM, FeatureTable, _default_workers, _hashes, link_features

COLUMNS = ("record_id", "name", "id_number", "gender", "birth_date", "phone", "address")
FIELDS = COLUMNS[1:]
OPTIONAL = ("source",)
#: What a register's header calls each column (compared without case, spaces or full-width
#: forms), the likeliest first: where two columns name one field (现住址 and 户籍地址), the one
#: earlier in this list is read.
HEADERS = {
    "record_id": ("record_id", "id", "编号", "序号", "记录编号", "记录号", "编码"),
    "name": ("name", "姓名", "名字", "户主姓名", "人员姓名"),
    "id_number": ("id_number", "身份证号", "身份证号码", "公民身份号码", "公民身份证号码", "证件号码", "身份证",
                  "证件号"),
    "gender": ("gender", "sex", "性别"),
    "birth_date": ("birth_date", "birthday", "出生日期", "出生年月", "出生年月日", "生日", "出生时间"),
    "phone": ("phone", "mobile", "联系电话", "手机号", "手机号码", "手机", "电话", "电话号码", "联系方式"),
    "address": ("address", "现住址", "住址", "家庭住址", "居住地址", "现居住地址", "地址", "户籍地址", "户籍地"),
    "source": ("source", "来源", "数据来源", "名单来源", "名单"),
}
_PROBE = 65536          # bytes read to tell UTF-8 from GB18030


class InputError(Exception):
    """What is wrong with a register file: the message, and ``kind`` and ``params`` for a caller
    that says it in another language (``empty``, ``no_name``, ``empty_id``, ``repeated_id``)."""

    def __init__(self, message, kind, **params):
        super().__init__(message)
        self.kind, self.params = kind, params

    def __reduce__(self):
        # raised while a worker pool reads the file, it travels between processes
        return self.__class__, (self.args[0], self.kind), {"params": self.params}


def _rows_to_features(task):
    start, rows, positions = task
    feats = []
    for k, row in enumerate(rows):
        record = {field: (row[i] if i < len(row) else "") for field, i in positions.items()}
        feats.append(person_features(record, start + k))
    return feats, [_hashes(f) for f in feats]


def _header_key(text):
    return "".join(unicodedata.normalize("NFKC", text).lstrip("\ufeff").split()).lower()


def columns(header):
    """``{field: column index}`` of a header row (see ``HEADERS``); raises InputError without a
    name column."""
    names = [_header_key(h) for h in header]
    found = {}
    for field, aliases in HEADERS.items():
        for alias in aliases:
            if alias in names:
                found[field] = names.index(alias)
                break
    if "name" not in found:
        named = ",".join(h.strip() for h in header)
        raise InputError("no name column: the header must name the person's name (name or 姓名), and may "
                         f"name {','.join(COLUMNS)} (it names {named})", "no_name", header=named)
    return found


def open_text(path_or_stream):
    """A text stream of a register file (a path, or a binary stream such as standard input): UTF-8,
    UTF-16 with its byte-order mark, or else GB18030 (which reads GBK and GB2312)."""
    if isinstance(path_or_stream, (str, os.PathLike)):
        raw = open(path_or_stream, "rb", buffering=_PROBE)       # peek then sees up to _PROBE bytes
    else:
        raw = path_or_stream if hasattr(path_or_stream, "peek") else io.BufferedReader(path_or_stream, _PROBE)
    head = raw.peek(_PROBE)[:_PROBE]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    else:
        try:
            head.decode("utf-8")
            encoding = "utf-8-sig"
        except UnicodeDecodeError as exc:
            # a character cut where the probe ends is no sign of another encoding; GBK's first
            # character already fails as UTF-8 ("invalid start byte" or "continuation byte")
            cut = exc.reason == "unexpected end of data" and exc.end == len(head)
            encoding = "utf-8-sig" if cut else "gb18030"
    return io.TextIOWrapper(raw, encoding=encoding, newline="")


def csv_reader(stream):
    """A csv reader over ``stream``: comma-separated, or tab-separated when the header line has
    tabs and no commas (a spreadsheet's "text" export)."""
    first = stream.readline()
    if not first:
        return iter(())
    delimiter = "\t" if "\t" in first and "," not in first else ","
    return csv.reader(itertools.chain([first], stream), delimiter=delimiter)


def _chunks(reader, id_col, ids, seen):
    chunk, start, line = [], 0, 1
    for row in reader:
        line += 1
        if not row or not any(cell.strip() for cell in row):
            continue
        rid = (row[id_col].strip() if id_col < len(row) else "") if id_col is not None else str(line)
        if not rid:
            raise InputError(f"line {line}: empty record_id", "empty_id", line=line)
        if rid in seen:
            raise InputError(f"line {line}: record_id {rid!r} appears twice", "repeated_id", line=line, id=rid)
        seen.add(rid)
        ids.append(rid)
        chunk.append(row)
        if len(chunk) == _CHUNK:
            yield start, chunk
            start += len(chunk)
            chunk = []
    if chunk:
        yield start, chunk


def _register(stream):
    """``(csv reader past the header, {field: column index})`` of a register's text stream."""
    reader = csv_reader(stream)
    try:
        header = next(reader)
    except StopIteration:
        raise InputError("the input is empty: it needs a header line with " + ",".join(COLUMNS), "empty") from None
    return reader, columns(header)


def read_features(stream, workers=1):
    """``(record ids, FeatureTable)`` of a CSV stream; raises InputError on a bad header or row."""
    reader, found = _register(stream)
    id_col = found.pop("record_id", None)
    positions = found
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


def read_rows(path):
    """The rows of a register file as dicts of ``COLUMNS`` and ``source`` (what ``read_features``
    reads, for a caller that links them with other records); raises InputError, OSError."""
    with open_text(path) as stream:
        reader, found = _register(stream)
        id_col = found.pop("record_id", None)
        rows, ids, seen = [], [], set()
        for _, chunk in _chunks(reader, id_col, ids, seen):
            for row in chunk:
                rows.append({field: (row[i].strip() if i < len(row) else "") for field, i in found.items()})
        for row, rid in zip(rows, ids):
            row["record_id"] = rid
        return rows


def write_clusters(target, ids, clusters):
    writer = csv.writer(target, lineterminator="\n")
    writer.writerow(("record_id", "cluster_id"))
    writer.writerows(zip(ids, clusters))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m sync.identity.linkcsv",
                                     description="Link person records: which rows are the same person.")
    parser.add_argument("input", help="a register as CSV (UTF-8, GBK/GB18030 or UTF-16) whose header names "
                                      "name and any of record_id,id_number,gender,birth_date,phone,address,source, "
                                      "in English or Chinese ('-': standard input)")
    parser.add_argument("output", help="CSV to write record_id,cluster_id to ('-': standard output)")
    parser.add_argument("--workers", type=int, default=None, help="processes to use (default: all CPUs)")
    parser.add_argument("--stats", action="store_true", help="print counts and timings to standard error")
    args = parser.parse_args(argv)
    if args.workers is not None and args.workers < 1:
        parser.error("--workers must be at least 1")
    stats = {} if args.stats else None
    started = time.perf_counter()
    try:
        source = open_text(sys.stdin.buffer if args.input == "-" else args.input)
    except OSError as exc:
        print(f"linkcsv: cannot read {args.input}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        with source:
            ids, clusters = link_stream(source, workers=args.workers, stats=stats)
    except InputError as exc:
        print(f"linkcsv: {args.input}: {exc}", file=sys.stderr)
        return 2
    except UnicodeError:
        print(f"linkcsv: {args.input} is not text in UTF-8, GB18030 (GBK) or UTF-16", file=sys.stderr)
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

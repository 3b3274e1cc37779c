"""Batch linkage of a register, in memory and from a CSV file."""
import csv
import io

import pytest
from stdnum.cn import ric

from sync.identity import linkage
from sync.identity.linkage import link_records
from sync.identity.linkcsv import COLUMNS, main


def make_id(birth, seq, area="320102"):
    body = f"{area}{birth.replace('-', '')}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


ZHANG = make_id("1958-11-02", 13)
TWIN_A, TWIN_B = make_id("2012-03-04", 21), make_id("2012-03-04", 23)
SON = make_id("1985-06-07", 35)

REGISTER = [
    # 张国强, typed four times
    {"record_id": "r1", "name": "张国强", "id_number": ZHANG, "gender": "M", "birth_date": "1958-11-02",
     "phone": "13311112222", "address": "和平里小区3栋2单元401"},
    {"record_id": "r2", "name": "章国强", "id_number": ZHANG.lower(), "birth_date": "", "phone": "",
     "address": "和平里小区三幢二单元401室"},
    {"record_id": "r3", "name": "张国强", "id_number": ZHANG[:6] + ZHANG[8:17], "gender": "", "birth_date": "",
     "phone": "133-1111-2222", "address": ""},
    {"record_id": "r4", "name": "张国强", "id_number": "", "gender": "M", "birth_date": "1958年11月2日",
     "phone": "", "address": "和平里小区3-2-401"},
    # twins: same household, birth date and phone; different names and numbers
    {"record_id": "r5", "name": "张晓明", "id_number": TWIN_A, "gender": "M", "birth_date": "2012-03-04",
     "phone": "13311112222", "address": "和平里小区3栋2单元401"},
    {"record_id": "r6", "name": "张晓亮", "id_number": TWIN_B, "gender": "M", "birth_date": "2012-03-04",
     "phone": "13311112222", "address": "和平里小区3栋2单元401"},
    {"record_id": "r7", "name": "张晓亮", "id_number": "", "gender": "", "birth_date": "2012/3/4",
     "phone": "", "address": "和平里小区3栋2单元401"},
    # the son named after his father
    {"record_id": "r8", "name": "张国强", "id_number": SON, "gender": "M", "birth_date": "1985-06-07",
     "phone": "13311112222", "address": "和平里小区3栋2单元401"},
    {"record_id": "r9", "name": "张国强", "id_number": "", "gender": "M", "birth_date": "1985-06-07",
     "phone": "", "address": ""},
    # another 张国强 of the community, nothing else in common
    {"record_id": "r10", "name": "张国强", "id_number": "", "gender": "M", "birth_date": "",
     "phone": "", "address": "和平里小区7栋1单元101"},
]


def _groups(clusters):
    out = {}
    for rid, c in clusters.items():
        out.setdefault(c, set()).add(rid)
    return sorted(sorted(g) for g in out.values())


#: r3 carries the father's number in its old 15-digit form and no birth date, under the name
#: father and son share, with the family's phone: it may be the son's record with his father's
#: number typed on it (a school list does that), so it joins neither and goes to review.
EXPECTED = [["r1", "r2", "r4"], ["r10"], ["r3"], ["r5"], ["r6", "r7"], ["r8", "r9"]]


def test_link_records_finds_the_person_and_keeps_the_look_alikes_apart():
    clusters = link_records(REGISTER)
    assert _groups(clusters) == EXPECTED
    assert clusters["r4"] == "r1"                    # the cluster id is its first record's id


def test_without_the_namesake_son_the_fathers_old_number_links():
    register = [r for r in REGISTER if r["record_id"] not in ("r8", "r9")]
    assert ["r1", "r2", "r3", "r4"] in _groups(link_records(register))


def test_link_records_stats_and_ids():
    stats = {}
    clusters = link_records([dict(r, id=r.pop("record_id")) for r in map(dict, REGISTER)], stats=stats)
    assert set(clusters) == {r["record_id"] for r in REGISTER}
    assert stats["records"] == len(REGISTER) and stats["clusters"] == len(EXPECTED)
    with pytest.raises(ValueError):
        link_records([REGISTER[0], REGISTER[0]])


def test_a_thin_record_pointing_at_two_people_joins_neither():
    father = {"record_id": "f", "name": "刘军", "birth_date": "1960-01-01", "phone": "13500000000"}
    son = {"record_id": "s", "name": "刘军", "birth_date": "1988-08-08", "phone": "13500000000"}
    thin = {"record_id": "t", "name": "刘军", "phone": "135 0000 0000"}
    assert _groups(link_records([father, son, thin])) == [["f"], ["s"], ["t"]]
    assert _groups(link_records([father, thin])) == [["f", "t"]]


def test_parallel_path_gives_the_same_clusters(monkeypatch):
    people = []
    for i in range(300):
        birth = f"19{50 + i % 40}-0{1 + i % 9}-1{i % 10}"
        base = {"name": "赵" + "明亮刚强伟芳娜静敏丽"[i % 10] + "一二三四五六七八九十"[i // 30], "birth_date": birth,
                "id_number": make_id(birth, i % 1000), "phone": f"139{i:08d}", "address": f"幸福小区{i % 20}栋1单元{i}"}
        people.append(dict(base, record_id=f"a{i}"))
        people.append(dict(base, record_id=f"b{i}", id_number="", name=base["name"].replace("明", "铭")))
    serial = link_records(people, workers=1)
    monkeypatch.setattr(linkage, "PARALLEL_FROM", 10)
    parallel = link_records(people, workers=2)
    assert serial == parallel
    assert len(set(serial.values())) == 300


# --- the CSV command --------------------------------------------------------------------------
def _write(path, rows, header=COLUMNS):
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for r in rows:
            writer.writerow([r.get(c, "") for c in header])


def test_linkcsv_writes_clusters(tmp_path):
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    _write(src, REGISTER)
    assert main([str(src), str(out)]) == 0
    with open(out, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["record_id", "cluster_id"]
    assert [r[0] for r in rows[1:]] == [r["record_id"] for r in REGISTER]       # input order kept
    assert _groups(dict(rows[1:])) == EXPECTED


def test_linkcsv_accepts_any_column_order_a_bom_and_extra_columns(tmp_path):
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    header = ("note",) + tuple(reversed(COLUMNS))
    _write(src, REGISTER, header)
    src.write_bytes(b"\xef\xbb\xbf" + src.read_bytes())
    assert main([str(src), str(out), "--workers", "1"]) == 0
    with open(out, encoding="utf-8", newline="") as f:
        assert _groups(dict(list(csv.reader(f))[1:])) == EXPECTED


def test_linkcsv_without_a_name_column_is_a_clear_error(tmp_path, capsys):
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    _write(src, REGISTER, ("record_id", "id_number", "gender", "birth_date", "phone", "address"))
    assert main([str(src), str(out)]) == 2
    err = capsys.readouterr().err
    assert "no name column" in err and "record_id,id_number,gender,birth_date,phone,address" in err
    assert not out.exists()                                                     # nothing written


def test_linkcsv_a_missing_column_counts_as_empty(tmp_path):
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    _write(src, REGISTER, ("record_id", "name", "id_number", "gender", "birth_date", "address"))    # no phone
    assert main([str(src), str(out), "--workers", "1"]) == 0
    with open(out, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert [r[0] for r in rows[1:]] == [r["record_id"] for r in REGISTER]


@pytest.mark.parametrize("content,message", [
    ("", "the input is empty"),
    ("record_id,name,id_number,gender,birth_date,phone,address\n,王伟,,,,,\n", "line 2: empty record_id"),
    ("record_id,name,id_number,gender,birth_date,phone,address\nx,王伟,,,,,\nx,李娜,,,,,\n", "appears twice"),
])
def test_linkcsv_bad_rows(tmp_path, capsys, content, message):
    src = tmp_path / "in.csv"
    src.write_text(content, encoding="utf-8")
    assert main([str(src), str(tmp_path / "out.csv")]) == 2
    assert message in capsys.readouterr().err


def test_linkcsv_unreadable_text_and_missing_file(tmp_path, capsys):
    src = tmp_path / "in.csv"
    src.write_bytes("name\n王伟\n".encode("utf-8") + b"\x80\xff\xfe\x81\n")    # neither UTF-8 nor GB18030
    assert main([str(src), str(tmp_path / "out.csv")]) == 2
    assert "is not text in UTF-8, GB18030 (GBK) or UTF-16" in capsys.readouterr().err
    assert main([str(tmp_path / "nope.csv"), str(tmp_path / "out.csv")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_linkcsv_stdout_and_short_rows(tmp_path, capsys):
    src = tmp_path / "in.csv"
    src.write_text("record_id,name,id_number,gender,birth_date,phone,address\n"
                   "a,王伟,,,1980-01-01,13800000000\n"          # a row cut short: missing cells are empty
                   "b,王玮,,,1980-01-01,,\n", encoding="utf-8")
    assert main([str(src), "-"]) == 0
    out = capsys.readouterr().out
    assert list(csv.reader(io.StringIO(out))) == [["record_id", "cluster_id"], ["a", "a"], ["b", "a"]]


def test_linkcsv_reads_the_source_column_when_there_is_one(tmp_path):
    # the father's number on a pupil's row of a school list, no birth date, the father's name
    rows = [{"record_id": "f", "name": "张国强", "id_number": ZHANG, "birth_date": "1958-11-02",
             "address": "和平里小区3栋2单元401", "source": ""},
            {"record_id": "p", "name": "张国强", "id_number": ZHANG, "address": "和平里小区3-2-401",
             "source": "school"}]
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    _write(src, rows, COLUMNS + ("source",))
    assert main([str(src), str(out), "--workers", "1"]) == 0
    with open(out, encoding="utf-8", newline="") as f:
        assert _groups(dict(list(csv.reader(f))[1:])) == [["f"], ["p"]]
    _write(src, rows)                                           # without the column: one person
    assert main([str(src), str(out), "--workers", "1"]) == 0
    with open(out, encoding="utf-8", newline="") as f:
        assert _groups(dict(list(csv.reader(f))[1:])) == [["f", "p"]]


CN_HEADER = ("序号", "姓名", "性别", "公民身份号码", "出生年月", "联系电话", "现住址", "户籍地址", "备注")


def _cn_rows(rows):
    """The register as a spreadsheet on a Chinese system has it: Chinese headers, another order,
    a column that is not read (户籍地址: 现住址 is the one read) and one for notes."""
    return [[r["record_id"], r.get("name", ""), r.get("gender", ""), r.get("id_number", ""), r.get("birth_date", ""),
             r.get("phone", ""), r.get("address", ""), "某省某县", "无"] for r in rows]


@pytest.mark.parametrize("encoding,delimiter", [("gbk", ","), ("gb18030", ","), ("utf-8-sig", ","),
                                                ("utf-16", "\t")])
def test_linkcsv_reads_a_register_as_a_spreadsheet_saves_it(tmp_path, encoding, delimiter):
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    text = io.StringIO()
    writer = csv.writer(text, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(CN_HEADER)
    writer.writerows(_cn_rows(REGISTER))
    src.write_bytes(text.getvalue().encode(encoding))
    assert main([str(src), str(out), "--workers", "1"]) == 0
    with open(out, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert [r[0] for r in rows[1:]] == [r["record_id"] for r in REGISTER]
    assert _groups(dict(rows[1:])) == EXPECTED


def test_linkcsv_without_a_record_id_names_rows_by_their_line(tmp_path):
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    _write(src, REGISTER, COLUMNS[1:])
    with open(src, "a", encoding="utf-8", newline="") as f:
        f.write(",,,,,\n")                                  # a blank row a spreadsheet leaves: skipped
    assert main([str(src), str(out), "--workers", "1"]) == 0
    with open(out, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    lines = [str(n) for n in range(2, len(REGISTER) + 2)]
    assert [r[0] for r in rows[1:]] == lines
    by_line = dict(zip(lines, (r["record_id"] for r in REGISTER)))
    assert _groups({by_line[a]: by_line[b] for a, b in rows[1:]}) == EXPECTED


def test_linkcsv_a_gbk_file_larger_than_the_probe(tmp_path):
    # a file whose first 64 KB are plain ASCII and whose Chinese comes later is still read
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    lines = ["record_id,name,phone"] + [f"a{i},Wang Wei {i},1380000{i:04d}" for i in range(4000)] + ["z,王伟,"]
    src.write_bytes("\n".join(lines).encode("gbk"))
    assert main([str(src), str(out), "--workers", "1"]) == 2        # UTF-8 was guessed: said, not misread
    text = "\n".join(["record_id,name,phone", "z0,王伟,", *lines[1:]]).encode("gbk")
    src.write_bytes(text)
    assert main([str(src), str(out), "--workers", "1"]) == 0


@pytest.mark.parametrize("pad", [0, 1, 2])
def test_linkcsv_utf8_is_read_as_utf8_wherever_its_first_bytes_end(tmp_path, pad):
    # the encoding is told from the first bytes; a Chinese character cut where they end is no
    # sign of GBK (names here are 3 bytes a character in UTF-8, so some row ends mid-character)
    from sync.identity.linkcsv import read_rows
    src = tmp_path / "in.csv"
    names = ["王伟", "李秀英", "欧阳娜娜", "张三丰"]
    lines = ["姓名,备注" + "x" * pad] + [f"{names[i % 4]},{'注' * (i % 7)}" for i in range(30000)]
    src.write_bytes("\n".join(lines).encode("utf-8"))
    rows = read_rows(str(src))
    assert len(rows) == 30000 and [r["name"] for r in rows[:4]] == names
    assert {r["name"] for r in rows} == set(names)

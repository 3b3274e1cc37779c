"""The words around the data in Chinese too: the validators' per-field messages in a REST error,
and argparse's own words in fieldsync."""
import re

import pytest

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("body, field", [
    ({"grid_id": "not-an-id", "address": "和平路1号"}, "grid_id"),
    ({"address": "和平路1号"}, "grid_id"),
    ({"grid_id": None, "address": 7}, "address"),
    ({"grid_id": "00000000-0000-0000-0000-000000000000", "address": "和平路1号", "colour": "x"}, "colour"),
])
def test_a_rest_errors_fields_read_in_the_readers_language(client, auth, city, body, field):
    zh = client.post("/api/v1/households", headers=auth.headers("w1"), json=body)
    assert zh.status_code == 422 and field in zh.json["errors"]
    assert all(CJK.search(m) for msgs in zh.json["errors"].values() for m in msgs), zh.json
    en = client.post("/api/v1/households?lang=en", headers=auth.headers("w1"), json=body)
    assert en.status_code == 422 and not any(CJK.search(m) for msgs in en.json["errors"].values() for m in msgs)


def test_fieldsync_usage_and_its_errors_are_chinese_by_default(tmp_path, capsys):
    from client_sdk.cli import main
    with pytest.raises(SystemExit):
        main(["--plaintext", "--store", str(tmp_path / "s.db"), "no-such-command"])
    err = capsys.readouterr().err
    assert "用法" in err and "usage:" not in err and "错误" in err
    with pytest.raises(SystemExit):
        main(["--lang", "en", "--plaintext", "--store", str(tmp_path / "s.db"), "no-such-command"])
    err = capsys.readouterr().err
    assert "usage:" in err and not CJK.search(err.split("{")[0])

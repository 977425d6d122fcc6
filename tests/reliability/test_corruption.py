"""Damaged run folders: a records file cut anywhere resumes exactly; a damaged line elsewhere, a
line that is not a record, a folder where the records file should be and a damaged manifest each
give one typed error that names the file (and line) and says what to do."""

from __future__ import annotations

import json
import random

import pytest

from xaibench.cli import main
from xaibench.errors import RecordsError, ResultsError
from xaibench.store import read_records

from .conftest import N_RECORDS, comparable, write_suite


def cli(capsys, *args):
    code = main(list(args))
    return code, capsys.readouterr().err


@pytest.fixture(scope="module")
def complete_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("complete")
    suite = write_suite(folder)
    assert main(["run", "--suite", str(suite), "--out", str(folder / "run"), "--quiet", "--isolation", "none"]) == 0
    return suite, folder / "run", (folder / "run" / "records.jsonl").read_bytes()


def copy_run(complete_run, tmp_path, data: bytes):
    _, run, _ = complete_run
    out = tmp_path / "run"
    out.mkdir(parents=True)
    (out / "manifest.json").write_bytes((run / "manifest.json").read_bytes())
    (out / "records.jsonl").write_bytes(data)
    return out


def test_records_cut_at_random_bytes_resume_to_the_complete_records(complete_run, tmp_path, capsys):
    _, run, data = complete_run
    expected = {r["key"]: comparable(r) for r in read_records(run)}
    rng = random.Random(7)
    for trial, cut in enumerate(sorted(rng.sample(range(1, len(data)), 12))):
        out = copy_run(complete_run, tmp_path / str(trial), data[:cut])
        code, err = cli(capsys, "run", "--resume", "--out", str(out), "--quiet", "--isolation", "none")
        assert code == 0, err
        records = list(read_records(out))
        assert len(records) == N_RECORDS and {r["key"]: comparable(r) for r in records} == expected, cut


BAD_LINES = {
    "empty object": (b"{}", "not a record (key is required)"),
    "a list": (b"[1, 2, 3]", "not a record (a JSON array, not an object)"),
    "binary garbage": (b"\x89PNG\r\x1a\x00\xff\xfe", "not a record (not valid JSON)"),
    "string values": (b'{"key": "k", "status": "ok", "value": "0.5"}', "value must be a valid number, got '0.5'"),
    "a string status": (b'{"key": "k", "status": 1}', "status must be one of 'ok', 'error' or 'skipped'"),
}


@pytest.mark.parametrize("name", list(BAD_LINES))
def test_a_line_that_is_not_a_record_is_a_typed_error_naming_the_line(complete_run, tmp_path, capsys, name):
    _, _, data = complete_run
    bad, problem = BAD_LINES[name]
    lines = data.splitlines(keepends=True)
    out = copy_run(complete_run, tmp_path, b"".join(lines[:3]) + bad + b"\n" + b"".join(lines[3:]))
    with pytest.raises(RecordsError) as info:
        list(read_records(out))
    message = str(info.value)
    assert message.startswith(f"{out / 'records.jsonl'}:4: ") and problem in message, message
    assert "delete line 4 and resume the run" in message
    manifest = (out / "manifest.json").read_bytes()
    for args in (["run", "--resume", "--out", str(out), "--quiet"], ["leaderboard", str(out)]):
        code, err = cli(capsys, *args)
        assert code == 2 and "records.jsonl:4: not a record" in err and "Traceback" not in err, err
    assert (out / "manifest.json").read_bytes() == manifest  # the failed resume wrote nothing


def test_records_jsonl_that_is_a_folder(complete_run, tmp_path, capsys):
    out = copy_run(complete_run, tmp_path, b"")
    (out / "records.jsonl").unlink()
    (out / "records.jsonl").mkdir()
    for args in (["leaderboard", str(out)], ["run", "--resume", "--out", str(out), "--quiet"]):
        code, err = cli(capsys, *args)
        assert code == 2 and "records.jsonl is a folder, not a records file" in err and "Traceback" not in err, err


def test_a_damaged_manifest(complete_run, tmp_path, capsys):
    _, _, data = complete_run
    out = copy_run(complete_run, tmp_path, data)
    manifest = out / "manifest.json"
    manifest.write_text(manifest.read_text()[:100])
    code, err = cli(capsys, "run", "--resume", "--out", str(out))
    assert code == 2 and f"{manifest} is not valid JSON" in err and "another --out folder" in err
    good = json.loads((complete_run[1] / "manifest.json").read_text())
    good["suite"]["text"] = good["suite"]["text"].replace("reliability", "edited")
    manifest.write_text(json.dumps(good))
    code, err = cli(capsys, "run", "--resume", "--out", str(out))
    assert code == 2 and "manifest.json is damaged" in err
    good = json.loads((complete_run[1] / "manifest.json").read_text())
    good["plan"]["seeds"] = ["zero"]
    manifest.write_text(json.dumps(good))
    code, err = cli(capsys, "run", "--resume", "--out", str(out))
    assert code == 2 and "the recorded plan is damaged (seeds[0] must be a valid integer" in err


def test_a_torn_last_line_is_skipped_when_reading_and_removed_when_resuming(complete_run, tmp_path, capsys):
    _, _, data = complete_run
    out = copy_run(complete_run, tmp_path, data + b'{"key": "torn", "sta')
    assert len(list(read_records(out))) == N_RECORDS
    assert cli(capsys, "run", "--resume", "--out", str(out), "--quiet", "--isolation", "none")[0] == 0
    assert (out / "records.jsonl").read_bytes() == data


def test_read_records_keeps_only_the_fields_asked_for(complete_run):
    _, run, _ = complete_run
    rows = list(read_records(run, fields=("key", "status", "seed", "no_such_field")))
    assert len(rows) == N_RECORDS and all(set(r) == {"key", "status", "seed", "no_such_field"} for r in rows)
    assert {r["seed"] for r in rows} == {0, 1, 2} and {r["no_such_field"] for r in rows} == {None}
    with pytest.raises(ResultsError, match="does not exist"):
        read_records(run / "nope.jsonl")

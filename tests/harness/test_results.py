"""Results folders (issue 12 item 5): Parquet records that read back exactly, a leaderboard identical
to the run folder's, ``leaderboard --save/--render/--check``, and the committed results checked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xaibench.cli import main
from xaibench.errors import RecordsError, ResultsError
from xaibench.recordset import read
from xaibench.results import (
    RECORDS_PARQUET,
    check,
    iter_records,
    read_parquet_records,
    rendered_paths,
    save,
    write_parquet,
)
from xaibench.store import read_records
from xaibench.tables import leaderboard

from . import toys
from .test_runner import run

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def toy_results(tmp_path_factory, registered_toys):
    tmp = tmp_path_factory.mktemp("results")
    run(tmp, toys.TOY_SUITE)
    folder = save([tmp / "run"], tmp / "results" / "toy", render_into=tmp / "results")
    return tmp / "run", folder


def test_records_read_back_exactly(toy_results):
    run_dir, folder = toy_results
    original = {r["key"]: r for r in read_records(run_dir)}
    back = {r["key"]: r for r in read_parquet_records(folder)}
    assert original.keys() == back.keys()
    for key, record in original.items():
        assert {k: v for k, v in back[key].items() if v is not None or k in record} == record
    assert list(iter_records(folder)) == read_parquet_records(folder)


def test_fields_beyond_the_schema_and_non_finite_values_survive(tmp_path):
    records = [{"key": "k", "task": "d/m/t", "method": "A", "metric": "q", "seed": 0, "status": "ok",
                "values": [1.0, None, 2.5], "extras": {"kept_fraction": 0.5}, "method_params": {"n": [1, 2]},
                "plugin_field": {"x": 1}, "value": float("nan")}]
    write_parquet(records, tmp_path / RECORDS_PARQUET)
    (back,) = read_parquet_records(tmp_path)
    assert back["values"] == [1.0, None, 2.5] and back["plugin_field"] == {"x": 1}
    assert back["extras"] == {"kept_fraction": 0.5} and back["method_params"] == {"n": [1, 2]}
    assert back["value"] is None  # not finite: stored as null, as the JSON lines do


@pytest.mark.parametrize("fmt", ["markdown", "latex", "csv", "json"])
def test_a_results_folder_renders_the_leaderboard_of_its_run(toy_results, fmt):
    run_dir, folder = toy_results
    assert leaderboard(folder, fmt) == leaderboard(run_dir, fmt)


def test_save_writes_the_manifest_and_the_rendered_files(toy_results):
    run_dir, folder = toy_results
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["suite"]["name"] == "toy" and manifest["plan"]["tasks"]
    assert manifest["results"]["n_records"] == len(read_parquet_records(folder))
    assert manifest["results"]["rendered"]["markdown"] == "../LEADERBOARD.md"
    paths = rendered_paths(folder)
    assert paths["markdown"] == (folder.parent / "LEADERBOARD.md").resolve()
    assert paths["markdown"].read_text() == leaderboard(run_dir, "markdown") + "\n"
    assert "Complete: all" in paths["markdown"].read_text()  # the plan came with the manifest
    report = check(folder)
    assert report.ok and len(report.checked) == 4 and not report.warnings


def test_check_finds_a_stale_file_and_a_changed_records_file(toy_results, tmp_path, capsys):
    run_dir, folder = toy_results
    copy = save([run_dir], tmp_path / "toy")
    assert main(["leaderboard", "--check", str(copy)]) == 0
    markdown = copy / "LEADERBOARD.md"
    markdown.write_text(markdown.read_text().replace("toy_exact", "toy_exakt", 1))
    assert main(["leaderboard", "--check", str(copy)]) == 1
    assert "LEADERBOARD.md differs from what the records give (first at line" in capsys.readouterr().err
    assert main(["leaderboard", "--render", str(copy)]) == 0 and main(["leaderboard", "--check", str(copy)]) == 0
    records = read_parquet_records(copy)
    write_parquet(records[1:], copy / RECORDS_PARQUET)
    report = check(copy)
    assert any("does not match the SHA-256 its manifest records" in p for p in report.problems)


def test_check_warns_when_the_value_code_changed(toy_results, tmp_path, capsys):
    run_dir, _ = toy_results
    records = [{**r, "code_sha256": "0" * 64} for r in read_records(run_dir)]
    folder = tmp_path / "old"
    folder.mkdir()
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "manifest.json").write_text((run_dir / "manifest.json").read_text())
    (tmp_path / "run" / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    save([tmp_path / "run"], folder)
    assert main(["leaderboard", "--check", str(folder)]) == 0  # a warning, not a failure
    err = capsys.readouterr().err
    assert "warning: records were computed by value code 000000000000" in err and "match the records" in err


def test_bad_results_folders_are_refused_with_a_clear_error(tmp_path, capsys):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / RECORDS_PARQUET).write_bytes(b"not parquet")
    with pytest.raises(RecordsError, match="is not a Parquet file of records"):
        read(tmp_path / "bad")
    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "foreign").mkdir()
    pq.write_table(pa.table({"a": [1]}), tmp_path / "foreign" / RECORDS_PARQUET)
    with pytest.raises(RecordsError, match="lacks the record columns"):
        read(tmp_path / "foreign")
    with pytest.raises(ResultsError, match="not a results folder"):
        check(tmp_path)
    assert main(["leaderboard", "--check", str(tmp_path / "nothing")]) == 2
    assert main(["leaderboard", "--save", str(tmp_path / "x"), "--check", str(tmp_path / "nothing")]) == 2


@pytest.mark.parametrize("name", ["quick", "standard"])
def test_the_committed_results_are_what_their_records_give(name, capsys):
    """``xaibench leaderboard --check results/NAME`` (issue 12: the rendered files are the records')."""
    folder = ROOT / "results" / name
    if not (folder / RECORDS_PARQUET).is_file():
        pytest.skip(f"results/{name} is not computed yet")
    assert main(["leaderboard", "--check", str(folder)]) == 0, capsys.readouterr().err

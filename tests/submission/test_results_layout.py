"""Publish on the results layout of ``xaibench leaderboard --save``: ``results/standard`` is a results
folder (records.parquet, manifest.json, attributions/), ``results/LEADERBOARD.*`` is the published
board (standard records plus submissions), and ``--save``, ``--render``, ``--check`` and ``publish``
agree on it."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from submission import helpers
from xaibench.attributions import copy_saved, read_index
from xaibench.cli import main
from xaibench.errors import ResultsError
from xaibench.submission.bundle import sha256_file
from xaibench.submission.publish import publish

NAME = "grad_times_input_2"


def _row(board: str, name: str) -> str | None:
    return next((line for line in board.splitlines() if line.startswith(f"| {name} ")), None)


def test_the_standard_results_are_a_results_folder_naming_the_board_and_the_submissions(results):
    standard = results / "standard"
    assert (standard / "records.parquet").is_file() and not (standard / "records.jsonl").exists()
    manifest = json.loads((standard / "manifest.json").read_text())
    assert manifest["results"]["rendered"]["markdown"] == "../LEADERBOARD.md"
    assert manifest["results"]["submissions"] == "../submissions"
    assert manifest["suite"]["name"] == "tiny" and 'name = "tiny"' in manifest["suite"]["text"]
    index = read_index(standard)  # the run's saved attributions, copied for the gallery
    assert len(index) == 3 * (3 + 1)  # 3 tasks × (3 methods + random's second seed)
    assert all(sha256_file(standard / "attributions" / e["file"]) == e["sha256"] for e in index)


def test_publish_renders_what_check_expects_and_a_new_save_keeps_the_submissions(results, good_bundle, capsys,
                                                                                 tmp_path_factory):
    standard, board = results / "standard", results / "LEADERBOARD.md"
    assert _row(board.read_text(), NAME) is None
    assert publish([good_bundle], results=results, site=None).merged == [NAME]
    row = _row(board.read_text(), NAME)
    assert row and re.search(r"\d\.\d\d \[\d\.\d\d, \d\.\d\d\]", row)
    assert main(["leaderboard", "--check", str(standard)]) == 0
    assert "4 rendered files match" in capsys.readouterr().err

    board.write_text(board.read_text().replace(row, ""))  # the submission's row removed by hand
    assert main(["leaderboard", "--check", str(standard)]) == 1
    assert main(["leaderboard", "--render", str(standard)]) == 0 and _row(board.read_text(), NAME) == row

    run = helpers.standard_run(tmp_path_factory)  # the standard results saved again, as docs/standard_results.py does
    assert main(["leaderboard", str(run), "--save", str(standard), "--render-into", str(results)]) == 0
    assert _row(board.read_text(), NAME) == row and main(["leaderboard", "--check", str(standard)]) == 0


def test_publish_refuses_standard_results_that_are_not_a_results_folder(tmp_path, good_bundle, tmp_path_factory):
    results = tmp_path / "results"
    shutil.copytree(helpers.standard_run(tmp_path_factory), results / "standard")  # a run folder: records.jsonl
    with pytest.raises(ResultsError, match=r"is not a results folder .*`xaibench leaderboard RUN_DIR --save"):
        publish([good_bundle], results=results, site=None)
    assert not (results / "submissions").exists()


def test_ranks_are_read_from_a_run_folder_too(tmp_path, tmp_path_factory):
    from xaibench.submission.submit import rank_against

    bundle, published = helpers.good_bundle(tmp_path_factory)
    data = json.loads((bundle / "bundle.json").read_text())
    results = tmp_path / "results"
    shutil.copytree(helpers.standard_run(tmp_path_factory), results / "standard")
    from_run = rank_against(bundle, data, results)
    assert from_run == rank_against(bundle, data, published) and from_run[0] == f"Ranks of {NAME} against 3 other " \
                                                                                "method(s):"


def test_copy_saved_skips_a_file_that_does_not_match_its_index(tmp_path, tmp_path_factory):
    run = tmp_path / "run"
    shutil.copytree(helpers.standard_run(tmp_path_factory), run)
    first = read_index(run)[0]
    (run / "attributions" / first["file"]).write_bytes(b"not the saved arrays")
    out = tmp_path / "out"
    assert copy_saved([run], out) == len(read_index(run)) - 1
    assert first["file"] not in {e["file"] for e in read_index(out)}


def test_a_results_folder_without_a_submissions_entry_shows_no_submissions(results, good_bundle):
    """results/quick (saved before publish existed) is never given the standard board's submissions."""
    from xaibench.results import render_all

    assert publish([good_bundle], results=results, site=None).merged == [NAME]
    other = results / "quick"
    shutil.copytree(results / "standard", other)
    manifest = json.loads((other / "manifest.json").read_text())
    assert manifest["results"].pop("submissions") == "../submissions"  # beside it: results/submissions
    (other / "manifest.json").write_text(json.dumps(manifest))
    assert _row(render_all(other)["markdown"], NAME) is None
    assert _row(render_all(results / "standard")["markdown"], NAME) is not None

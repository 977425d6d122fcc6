"""The static site built by ``xaibench publish``: its pages, tables, figures and galleries."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from xaibench.site.plots import pareto_front

NAME = "grad_times_input_2"
PNG = b"\x89PNG\r\n\x1a\n"


def _html(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_every_page_and_figure_is_written(published):
    _, site = published
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))
    assert pages == ["index.html", "submit.html", "tasks/breast_cancer__mlp__logit.html",
                     "tasks/digits__mlp__logit.html", "tasks/synthetic_copy__sequence_lm__next_token_logprob.html"]
    figures = {p.relative_to(site).as_posix() for p in site.rglob("*.png")}
    assert {"plots/cd-faithfulness.png", "plots/pareto.png", "plots/ranks-faithfulness.png", "plots/agreement.png",
            "plots/gallery/digits__mlp__logit.png"} <= figures
    assert sum(f.startswith("plots/curves/") for f in figures) == 3
    for figure in figures:
        assert (site / figure).read_bytes()[:8] == PNG


def test_every_image_and_link_a_page_references_exists_and_nothing_is_fetched_from_the_network(published):
    _, site = published
    for page in site.rglob("*.html"):
        text = _html(page)
        assert "http://" not in text and "https://" not in text, page
        for target in re.findall(r'(?:src|href)="([^"#]+)"', text):
            if target.startswith("data:"):  # the empty favicon: no request at all
                continue
            assert (page.parent / target).resolve().is_file(), f"{page.name} -> {target}"


def test_the_index_has_the_summary_leaderboard_with_the_submission(published):
    _, site = published
    text = _html(site / "index.html")
    summary = text[text.index('id="summary"'):text.index("</table>", text.index('id="summary"'))]
    rows = re.findall(r"<tr><td>([^<]+)</td><td data-sort=\"([\d.]+)\">([\d.]+) \[", summary)
    assert {r[0] for r in rows} == {"random", "saliency", "input_x_gradient", NAME}
    assert all(float(sort) == pytest.approx(float(shown), abs=0.005) for _, sort, shown in rows)
    assert "Critical-difference diagram: faithfulness" in text and "Pareto front" in text
    assert '<a href="sources/grad_times_input_2.py.txt">submission</a>' in text


def test_a_task_page_has_sortable_tables_quality_curves_gallery_and_provenance(published):
    _, site = published
    text = _html(site / "tasks" / "digits__mlp__logit.html")
    assert "Model quality: test_accuracy = " in text
    assert 'class="sortable" data-category="faithfulness"' in text and 'data-category="cost"' in text
    assert "deletion_auc ↓" in text and "insertion_auc ↑" in text
    assert text.count('<td class="best"') >= 2  # one best value per faithfulness column
    assert "plots/curves/digits__mlp__logit.png" in text and "plots/gallery/digits__mlp__logit.png" in text
    assert re.search(rf"<td>{NAME}</td><td><a href=\"../sources/{NAME}.py.txt\">submission</a></td><td>gradient</td>"
                     r"<td>scale=2.0</td>", text)
    assert re.search(r"<td>saliency</td><td>built-in</td><td>gradient</td>", text)


def test_the_text_gallery_shades_every_token_of_the_same_instances_for_every_method(published):
    _, site = published
    text = _html(site / "tasks" / "synthetic_copy__sequence_lm__next_token_logprob.html")
    gallery = text[text.index('class="gallery-text"'):]
    instances = re.findall(r"<h3>instance (\d+)</h3>", gallery)
    assert instances == ["0", "1", "2"]  # three instances saved per cell
    lines = re.findall(r'<tr><td>([^<]+)</td><td class="tokens">(.*?)</td></tr>', gallery)
    assert len(lines) == 3 * 4  # every method, every instance
    for _, spans in lines:
        tokens = re.findall(r'<span style="background: rgba\(\d+,\d+,\d+,([\d.]+)\)" title="[^"]+">(\d+)</span>', spans)
        assert len(tokens) == 12 and max(float(a) for a, _ in tokens) == 1.0  # 12 positions; the largest |φ| opaque


def test_the_how_to_page_is_the_submitting_guide(published):
    _, site = published
    text = _html(site / "submit.html")
    assert "<h1>Submitting a method to the xaibench leaderboard</h1>" in text
    assert "xaibench validate my_method.py:GradientTimesDelta" in text


def test_names_from_bundles_are_escaped(tmp_path, published):
    """A method label carrying markup is shown as text, never run as a script."""
    from xaibench.recordset import read
    from xaibench.site.build import build_site
    from xaibench.store import read_records
    from xaibench.tables import build_board

    results, _ = published
    records = [dict(r, method="<script>alert(1)</script>") if r["method"] == "random" else r
               for r in read_records(results / "standard" / "records.jsonl")]
    index = build_site(results, tmp_path / "site", board=build_board(read(records)))
    text = _html(index)
    assert "<script>alert(1)</script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_a_folder_that_is_not_a_site_is_never_replaced(tmp_path, published):
    from xaibench.errors import ResultsError
    from xaibench.site.build import build_site

    results, _ = published
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("precious")
    with pytest.raises(ResultsError, match="is not a site made by xaibench"):
        build_site(results, tmp_path / "mine")
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "precious"
    build_site(results, tmp_path / "site")
    assert (build_site(results, tmp_path / "site")).is_file()  # its own earlier build is replaced


def test_pareto_front_by_hand():
    """Faster is better, a lower rank is better: c is dominated by a (as fast, better ranked), d by b."""
    speed = np.array([10.0, 100.0, 10.0, 50.0, 1000.0])
    rank = np.array([1.0, 2.0, 1.5, 3.0, 4.0])
    assert pareto_front(speed, rank).tolist() == [True, True, False, False, True]

"""The site in headless Chromium: every page loads without a console error or a network request,
clicking a header sorts its table, and screenshots show a table, a plot and the heat-map gallery."""

from __future__ import annotations

from pathlib import Path


def _pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def _column(page, table: str, column: int) -> list[str]:
    return page.locator(f"{table} tbody tr td:nth-child({column})").all_inner_texts()


def _keys(page, table: str, column: int) -> list[float | None]:
    values = page.locator(f"{table} tbody tr td:nth-child({column})").evaluate_all(
        "cells => cells.map(c => c.dataset.sort)")
    return [float(v) if v else None for v in values]


def test_every_page_loads_without_console_errors_or_network(page, published):
    _, site = published
    pages = _pages(site)
    assert len(pages) == 5
    for html in pages:
        page.goto(html.as_uri())
        page.wait_for_load_state("load")
        assert page.errors == [], f"{html.name}: {page.errors}"
        images = page.locator("img").evaluate_all("images => images.map(i => i.complete && i.naturalWidth > 0)")
        assert all(images), f"{html.name}: an image did not load"
    assert all(url.startswith(("file://", "data:")) for url in page.requests), page.requests


def test_clicking_a_header_sorts_the_table_and_again_reverses_it(page, published):
    _, site = published
    page.goto((site / "index.html").as_uri())
    header = page.locator("#summary thead th").nth(1)
    header.click()
    ranks = _keys(page, "#summary", 2)
    assert ranks == sorted(ranks) and header.get_attribute("aria-sort") == "ascending"
    header.click()
    assert _keys(page, "#summary", 2) == sorted(ranks, reverse=True)
    page.locator("#summary thead th").nth(0).click()
    names = _column(page, "#summary", 1)
    assert names == sorted(names, key=str.lower)


def test_sorting_a_task_table_keeps_rows_without_a_value_last(page, published):
    _, site = published
    page.goto((site / "tasks" / "digits__mlp__logit.html").as_uri())
    table = "table[data-category='faithfulness']"
    for _ in range(2):  # ascending, then descending
        page.locator(f"{table} thead th").nth(1).click()
        keys = _keys(page, table, 2)
        values = [k for k in keys if k is not None]
        assert keys[:len(values)] == values and set(keys[len(values):]) <= {None}
    assert values == sorted(values, reverse=True)
    assert page.errors == []


def test_screenshots_show_the_table_a_plot_and_the_gallery(page, published, tmp_path):
    _, site = published
    page.goto((site / "index.html").as_uri())
    page.screenshot(path=tmp_path / "index.png", full_page=True)
    page.goto((site / "tasks" / "digits__mlp__logit.html").as_uri())
    shot = tmp_path / "task.png"
    page.screenshot(path=shot, full_page=True)
    height = page.evaluate("document.documentElement.scrollHeight")
    for selector in ("table[data-category='faithfulness']", "figure.figure-curves img", "figure.figure-gallery img"):
        box = page.locator(selector).bounding_box()
        assert box and box["width"] > 100 and box["height"] > 50 and box["y"] + box["height"] <= height, selector
    assert shot.stat().st_size > 20_000 and (tmp_path / "index.png").stat().st_size > 20_000
    print(f"screenshots: {shot} {tmp_path / 'index.png'}")

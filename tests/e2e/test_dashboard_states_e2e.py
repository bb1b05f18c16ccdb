"""The dashboard explains what it cannot show: a warehouse of three loaded dates with a gap has no
forecast yet, and the page says how many dates it has and needs, why baselines only, and the
backtest's note; the missing date is a gap in the daily chart; the lineage view stays readable
in Chromium at the widths of ``screenshot.LINEAGE_WIDTHS``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from conftest import connect, load_after_staging, stage_generated
from ecommerce.dashboards.screenshot import LINEAGE_WIDTHS, chromium_path, offline_page
from ecommerce.forecast.selection import MIN_HISTORY, MIN_HISTORY_FOR_ETS

pytestmark = pytest.mark.e2e

#: Three loaded dates; 2026-11-21 never loaded.
DATES = ["2026-11-20", "2026-11-22", "2026-11-23"]
MISSING = "2026-11-21"
SHOP = dict(seed=5, orders=40, customers=150, new_customers=2, products=60)
#: The edges of a real run's lineage (make run, three dates): every table the view draws.
LINEAGE_EDGES = Path(__file__).parent.parent / "data" / "lineage_edges.csv"


@pytest.fixture(scope="module")
def gapped(tmp_path_factory):
    """The dashboard's data and page from the three dates, the forecast refreshed."""
    from ecommerce.dashboards import data, render
    from ecommerce.forecast import refresh

    stage_generated(tmp_path_factory.mktemp("gapped-raw"), DATES, SHOP)
    load_after_staging(DATES)
    with connect() as conn, conn.cursor() as cursor:
        refresh(cursor)
    with connect() as conn:
        read = data.read(conn)
    read.frames["lineage"] = pd.read_csv(LINEAGE_EDGES)
    page = render.render(read, tmp_path_factory.mktemp("gapped-page") / "index.html")
    return read, page


def section_text(html: str, section_id: str) -> str:
    """The text of one section of the page, tags removed."""
    import re

    start = html.index(f'id="{section_id}"')
    end = html.index("</section>", start)
    return " ".join(re.sub(r"<[^>]+>", " ", html[start:end]).split())


def test_the_page_says_how_many_dates_the_forecast_has_and_needs_and_why_baselines_only(gapped):
    read, page = gapped
    assert read["forecast"].empty
    status = section_text(page.read_text(encoding="utf-8"), "forecast-status")
    assert f"No forecast yet: 2 consecutive loaded dates of the {MIN_HISTORY} it needs" in status
    assert "3 dates are loaded, but a gap breaks the history" in status and "since 2026-11-22" in status
    assert f"From {MIN_HISTORY} dates on it forecasts with baselines only" in status
    assert f"under {MIN_HISTORY_FOR_ETS} dates ETS with weekly seasonality is not fitted" in status


def test_the_backtest_note_replaces_a_table_of_dashes(gapped):
    _, page = gapped
    with connect() as conn:
        notes = [note for (note,) in conn.execute("select distinct note from analytics.forecast_accuracy")]
    backtest = section_text(page.read_text(encoding="utf-8"), "forecast-accuracy")
    assert notes and all(note in backtest for note in notes), (notes, backtest)
    assert "<table" not in page.read_text(encoding="utf-8").split('id="forecast-accuracy"')[1]
    assert "–" not in backtest


def test_the_missing_date_is_a_gap_in_the_daily_chart(gapped):
    from ecommerce.dashboards.render import NO_FORECAST_TITLE, figures

    read, page = gapped
    chart = figures(read)["daily-revenue"]
    revenue, average = chart.data[0], chart.data[1]
    days = [str(day) for day in average.x]
    assert days == ["2026-11-20", MISSING, "2026-11-22", "2026-11-23"]
    assert average.y[1] is None and revenue.y[1] is None
    assert all(value is not None for value in (*average.y[::2], average.y[3]))
    assert average.connectgaps is False
    assert chart.layout.title.text == NO_FORECAST_TITLE
    assert f"Not loaded, left as gaps in the chart: {MISSING}." in section_text(
        page.read_text(encoding="utf-8"), "forecast-status")


#: Every piece of text inside an element, as the boxes its lines take on screen.
TEXT_BOXES = """root => {
    const boxes = [];
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    let index = 0;
    while (walker.nextNode()) {
        const node = walker.currentNode;
        index += 1;
        if (!node.textContent.trim() || node.parentElement.closest("script, style, title")) continue;
        const range = document.createRange();
        range.selectNodeContents(node);
        for (const r of range.getClientRects()) {
            if (r.width > 0 && r.height > 0) {
                boxes.push({node: index, text: node.textContent.trim(), left: r.left, top: r.top,
                            right: r.right, bottom: r.bottom});
            }
        }
    }
    return boxes;
}"""


def overlap(a: dict, b: dict) -> bool:
    return min(a["right"], b["right"]) - max(a["left"], b["left"]) > 1 and \
        min(a["bottom"], b["bottom"]) - max(a["top"], b["top"]) > 1


@pytest.mark.parametrize("width", LINEAGE_WIDTHS)
def test_the_lineage_view_is_readable_in_chromium(gapped, width):
    if not shutil.which(chromium_path()):
        if os.environ.get("CI") == "true":
            pytest.fail(f"Chromium not found at {chromium_path()}: .ci/run installs it")
        pytest.skip(f"Chromium not found at {chromium_path()} (apt-get install chromium)")
    read, page_file = gapped
    with offline_page(page_file, width=width) as (page, errors, blocked):
        section = page.query_selector("#lineage")
        boxes = section.evaluate(TEXT_BOXES)
        frame = section.bounding_box()
        text = section.inner_text()
        links = page.eval_on_selector_all("#lineage path", "paths => paths.length")
    assert errors == [] and blocked == []
    clashes = [(a["text"], b["text"]) for i, a in enumerate(boxes) for b in boxes[i + 1:]
               if a["node"] != b["node"] and overlap(a, b)]
    assert clashes == [], clashes
    # The title is text too: nothing overlaps it (above), and all of it lies inside the card.
    assert any("Lineage of each task's last run" in box["text"] for box in boxes)
    outside = [box["text"] for box in boxes if box["left"] < frame["x"] or box["right"] > frame["x"] + frame["width"]
               or box["top"] < frame["y"] or box["bottom"] > frame["y"] + frame["height"]]
    assert outside == []
    edges = read["lineage"]
    written = edges.drop_duplicates(["task", "target"]).groupby("target")["rows"].sum()
    for target, rows in written.items():
        assert target in text and f"{rows:,} rows written" in text, target
    assert links == len(edges)

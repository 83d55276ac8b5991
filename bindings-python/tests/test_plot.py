"""journey_core.plot: each plot draws its result's own numbers and returns the figure."""

from __future__ import annotations

from pathlib import Path

import pytest

import journey_core as jc

go = pytest.importorskip("plotly.graph_objects")
from journey_core import plot  # noqa: E402

SMALL = Path(__file__).resolve().parents[2] / "journey-core" / "tests" / "data" / "bench-small"


@pytest.fixture(scope="module")
def analysis() -> jc.Analysis:
    doc = jc.from_bench_design((SMALL / "design.json").read_text(encoding="utf-8"))
    return jc.Analysis.from_parquet(doc, SMALL / "events.parquet", links=SMALL / "links.parquet")


def test_funnel(analysis: jc.Analysis) -> None:
    f = analysis.funnel(["product_view", "add_to_cart", "order_confirmed"])
    fig = plot.funnel(f)
    assert isinstance(fig, go.Figure)
    assert list(fig.data[0].x) == [s["journeys"] for s in f.steps]
    assert list(fig.data[0].y) == ["product_view", "add_to_cart", "order_confirmed"]
    assert f"{f.converted:,}" in fig.layout.title.text


def test_phase_reach(analysis: jc.Analysis) -> None:
    r = analysis.reach()
    fig = plot.phase_reach(r)
    assert list(fig.data[0].y) == [p["share"] for p in r.phases]


def test_emotion_curve(analysis: jc.Analysis) -> None:
    e = analysis.emotion()
    fig = plot.emotion_curve(e)
    planned, measured = fig.data
    assert planned.name == "planned" and measured.name == "measured"
    assert list(measured.y) == [t["mean"] for t in e.touchpoints]
    assert len(planned.x) == len(e.touchpoints)


def test_paths_sankey(analysis: jc.Analysis) -> None:
    p = analysis.paths(level="phase", k=4, top=5)
    fig = plot.paths_sankey(p)
    link = fig.data[0].link
    # every journey of a top path leaves its first node once
    firsts = {(s) for s, t in zip(link.source, link.target)} - set(link.target)
    out_of_firsts = sum(v for s, v in zip(link.source, link.value) if s in firsts)
    assert out_of_firsts == sum(x["journeys"] for x in p.top if ">" in x["path"])


def test_wrong_result_kind(analysis: jc.Analysis) -> None:
    with pytest.raises(TypeError, match="expected a funnel result, not reach"):
        plot.funnel(analysis.reach())

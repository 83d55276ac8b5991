"""Plots of analytics results, with plotly (the ``plot`` extra: ``pip install plotly``).

Each function takes an :class:`~journey_core.AnalysisResult` and returns a
``plotly.graph_objects.Figure``, so it can be restyled, shown (``fig.show()``) or written
(``fig.write_html(...)``, ``fig.write_image(...)``). The numbers are the result's own; the
functions only draw them::

    from journey_core import plot

    plot.funnel(analysis.funnel(["product_view", "add_to_cart", "order_confirmed"]))
    plot.phase_reach(analysis.reach())
    plot.emotion_curve(analysis.emotion())
    plot.paths_sankey(analysis.paths(level="phase"))

plotly is imported when a function is called, never at ``import journey_core``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from journey_core._native import AnalysisResult

Figure: TypeAlias = Any
"""A ``plotly.graph_objects.Figure`` (plotly ships no type information)."""

__all__ = ["Figure", "emotion_curve", "funnel", "paths_sankey", "phase_reach"]


def _go() -> Any:
    try:
        return importlib.import_module("plotly.graph_objects")
    except ImportError as e:  # pragma: no cover - exercised only without plotly
        raise ImportError("journey_core.plot needs plotly (the package's plot extra): pip install plotly") from e


def _expect(result: AnalysisResult, kind: str) -> dict[str, Any]:
    if result.kind != kind:
        raise TypeError(f"expected a {kind} result, not {result.kind}")
    return result.to_dict()


def funnel(result: AnalysisResult, *, title: str | None = None) -> Figure:
    """A funnel chart: journeys at each step, with the share of the first step.

    Args:
        result: The result of :meth:`Analysis.funnel`.
        title: The figure's title; the default names the conversion.

    Raises:
        TypeError: ``result`` is not a funnel.
    """
    data = _expect(result, "funnel")
    go = _go()
    steps = data["steps"]
    fig = go.Figure(
        go.Funnel(
            y=[s["step"] for s in steps],
            x=[s["journeys"] for s in steps],
            textinfo="value+percent initial",
        )
    )
    converted, journeys = data["converted"], data["journeys"]
    fig.update_layout(title=title or f"Funnel: {converted:,} of {journeys:,} journeys converted")
    return fig


def phase_reach(result: AnalysisResult, *, title: str = "Phase reach") -> Figure:
    """A bar per phase: the share of journeys that reach it (hover: journeys, and the
    share of those that reached the previous phase).

    Args:
        result: The result of :meth:`Analysis.reach`.

    Raises:
        TypeError: ``result`` is not a reach.
    """
    data = _expect(result, "reach")
    go = _go()
    phases = data["phases"]
    fig = go.Figure(
        go.Bar(
            x=[p["phase"] for p in phases],
            y=[p["share"] for p in phases],
            customdata=[[p["journeys"], p["share_of_previous"]] for p in phases],
            hovertemplate="%{x}<br>share %{y:.1%}<br>%{customdata[0]:,} journeys"
            "<br>of previous phase %{customdata[1]:.1%}<extra></extra>",
        )
    )
    fig.update_layout(title=title, yaxis_tickformat=".0%", yaxis_title="share of journeys")
    return fig


def emotion_curve(result: AnalysisResult, *, title: str = "Emotion: planned and measured") -> Figure:
    """The emotion curve along the map: planned against measured emotion (mean rating on
    ``[-1, 1]``) per touchpoint, in map order; touchpoints with too few ratings are
    drawn hollow.

    Args:
        result: The result of :meth:`Analysis.emotion`.

    Raises:
        TypeError: ``result`` is not an emotion report.
    """
    data = _expect(result, "emotion")
    go = _go()
    tps = data["touchpoints"]
    names = [f"{t['phase']} / {t['touchpoint']}" for t in tps]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=names, y=[t["planned"] for t in tps], name="planned", mode="lines+markers", line={"dash": "dash"}))
    fig.add_trace(
        go.Scatter(
            x=names,
            y=[t["mean"] for t in tps],
            name="measured",
            mode="lines+markers",
            marker={"symbol": ["circle" if t["enough_data"] else "circle-open" for t in tps], "size": 9},
            customdata=[t["ratings"] for t in tps],
            hovertemplate="%{x}<br>mean %{y:.2f}<br>%{customdata:,} ratings<extra></extra>",
        )
    )
    fig.update_layout(title=title, yaxis={"range": [-1.05, 1.05], "title": "emotion"})
    return fig


def paths_sankey(result: AnalysisResult, *, title: str | None = None) -> Figure:
    """A Sankey diagram of the top paths: one column per position in the path, links
    weighted by the journeys that follow each path.

    Args:
        result: The result of :meth:`Analysis.paths`.

    Raises:
        TypeError: ``result`` is not a paths result.
    """
    data = _expect(result, "paths")
    go = _go()
    sep = data["options"]["separator"]
    nodes: dict[tuple[int, str], int] = {}
    flows: dict[tuple[int, int], int] = {}

    def node(pos: int, name: str) -> int:
        return nodes.setdefault((pos, name), len(nodes))

    for p in data["top"]:
        names = p["path"].split(sep)
        for i in range(len(names) - 1):
            key = (node(i, names[i]), node(i + 1, names[i + 1]))
            flows[key] = flows.get(key, 0) + p["journeys"]
    labels = [name for (_, name) in sorted(nodes, key=lambda k: nodes[k])]
    fig = go.Figure(
        go.Sankey(
            node={"label": labels, "pad": 12},
            link={"source": [s for s, _ in flows], "target": [t for _, t in flows], "value": list(flows.values())},
        )
    )
    fig.update_layout(title=title or f"Top {len(data['top'])} paths ({data['options']['level']} level)")
    return fig

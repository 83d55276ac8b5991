"""journey-core in the analyst's notebook: the example shop's designed journey against a
month of what its customers actually did.

A notebook as a script: each ``# %%`` cell runs in Jupyter or VS Code as it is, and the
whole file runs with ``python examples/python/walkthrough.py [output directory]``. The
events are loaded into pandas, handed to journey-core through Arrow (no row-by-row
copy), stitched into journeys and checked against ``examples/maps/shop.json``; every
measure is shown as a table, and the plots are written as HTML files (no GUI needed).

Needs pandas, pyarrow and plotly (``pip install journey-core[pandas,plot]``).
"""

# %% Setup
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pandas as pd

import journey_core as jc
from journey_core import plot

ROOT = Path(__file__).resolve().parents[1]
OUT = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="journey-core-walkthrough-"))
OUT.mkdir(parents=True, exist_ok=True)


def section(title: str) -> None:
    print(f"\n## {title}")


def show(table: jc.Table, rows: int = 8) -> None:
    """What a notebook would display: here, the table as a pandas frame, as text."""
    with pd.option_context("display.width", 160, "display.max_columns", 12):
        print(table.to_pandas().head(rows).to_string(index=False))


# %% The designed journey: load, validate, draw
doc = jc.MapDocument.load(ROOT / "maps" / "shop.json")
section("validation")
doc.validate()  # raises ValidationError listing every problem
print(f"{doc.name}: valid, maps {', '.join(doc.map_ids)}")
(OUT / "shop.svg").write_text(doc.to_svg(), encoding="utf-8")  # in Jupyter, `doc` shows it inline

# %% The events, in pandas; timestamps as timestamps
events = pd.read_csv(ROOT / "data" / "events.csv")
events["ts"] = pd.to_datetime(events["ts"], unit="us", utc=True)
events = events.rename(columns={"customer_key": "customer", "event": "action"})
links = pd.read_csv(ROOT / "data" / "links.csv")
print(f"{len(events):,} events, {len(links):,} identity links, from {events['ts'].min()} to {events['ts'].max()}")

# %% Into journey-core: the column mapping says which column holds what
analysis = jc.Analysis.from_arrow(
    doc,
    events,
    links=links,
    mapping={"keys": ["customer"], "event": "action", "rating": {"column": "csat", "scale": "csat"}},
    progress=True,  # a tqdm bar when tqdm is installed
)
print(analysis)

# %% Stitching: keys into profiles
section("stitch")
stitch = analysis.stitch_summary()
print(f"{stitch.keys:,} keys -> {stitch.profiles:,} profiles, {stitch.journeys:,} journeys, conflicts: {stitch.conflicts}")

# %% Phase reach
section("reach")
reach = analysis.reach()
show(reach.table)
plot.phase_reach(reach).write_html(OUT / "phase_reach.html")

# %% The purchase funnel (one-week window), and by channel
section("funnel")
funnel = analysis.funnel(["product_view", "add_to_cart", "checkout_start", "payment", "order_confirmed"])
print(f"converted {funnel.converted:,} of {funnel.journeys:,}; median time to convert {funnel.time_to_convert['median_us']} µs")
show(funnel.table)
plot.funnel(funnel).write_html(OUT / "funnel.html")
section("breakdown")
show(analysis.funnel(["product_view", "add_to_cart", "order_confirmed"], by="channel").table)

# %% Transitions and paths
section("transitions")
show(analysis.transitions(["phase"]).table)
section("paths")
paths = analysis.paths(level="phase", k=5, top=10)
show(paths.table)
plot.paths_sankey(paths).write_html(OUT / "paths_sankey.html")

# %% Emotion: planned against measured
section("emotion")
emotion = analysis.emotion()
show(emotion.table, rows=20)
plot.emotion_curve(emotion).write_html(OUT / "emotion_curve.html")
show(analysis.emotion_by_persona().table)

# %% Gray areas: handoffs and channel switches where journeys end
section("gray areas")
show(analysis.gray_areas().table)

# %% Conformance to the map
section("conformance")
show(analysis.conformance().table)

# %% Key moments: where a bad rating changes the outcome
section("key moments")
show(analysis.key_moments(outcome="touchpoint:order_confirmation", min_count=20).table)

# %% The map's assumptions against the evidence
section("hypotheses")
print(analysis.hypotheses())

# %% One row per journey
section("journeys")
journeys = analysis.journey_table().to_pandas()
print(journeys[["profile", "events", "duration", "furthest_phase", "lowest_rating"]].head().to_string(index=False))
print(f"median journey duration: {journeys['duration'].median()}")

# %% The short report
section("report")
print(analysis.report())
print(f"\nfigures in {OUT}")

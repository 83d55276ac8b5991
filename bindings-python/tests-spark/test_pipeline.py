"""The whole Spark pipeline (stitch, attach profiles, partial states per partition through
mapInArrow, merged, finished) gives the local analysis' results exactly, and the reference
outputs of the benchmark kit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import journey_core as jc
from conftest import expected
from journey_core.spark import analyse, partials, stitch

FUNNEL = ["product_view", "add_to_cart", "checkout_start", "payment", "order_confirmed"]
MEASURES: dict[str, Any] = {
    "reach": True,
    "funnels": [{"steps": [[s] for s in FUNNEL]}],
    "transitions": ["event", "touchpoint", "phase"],
    "paths": {},
    "emotion": {},
    "gray_areas": {},
    "conformance": True,
    "key_moments": {"outcome": {"touchpoint": "order_confirmation"}},
    "hypotheses": {},
    "funnel_breakdowns": [{"funnel": {"steps": [[s] for s in FUNNEL]}, "by": "channel"}],
}


@pytest.fixture(scope="module")
def design(data: Path) -> jc.MapDocument:
    return jc.from_bench_design((data / "design.json").read_text(encoding="utf-8"))


def as_json(results: jc.PartialResults) -> dict[str, Any]:
    return {name: json.loads(r.to_json()) for name, r in results.to_dict().items()}


@pytest.mark.parametrize("partitions", [1, 3, 8])
def test_spark_equals_local_and_the_reference(spark: Any, data: Path, design: jc.MapDocument, partitions: int) -> None:
    events = spark.read.parquet(str(data / "events.parquet"))
    links = spark.read.parquet(str(data / "links.parquet"))
    results = analyse(design, events, MEASURES, links=links, partitions=partitions)

    local = jc.Analysis.from_parquet(design, data / "events.parquet", links=data / "links.parquet", identity_limits=False)
    assert as_json(results) == as_json(local.results(MEASURES))
    got = as_json(results)
    for name in ["reach", "transitions", "paths", "emotion", "gray_areas", "conformance", "key_moments"]:
        assert got[name] == expected(name), name
    assert got["funnel_0"] == expected("funnel")


def test_csv_columns_renamed_through_the_mapping(spark: Any, data: Path, design: jc.MapDocument) -> None:
    events = (
        spark.read.parquet(str(data / "events.parquet"))
        .withColumnRenamed("customer_key", "who")
        .withColumnRenamed("ts", "time")
        .drop("seq")
    )
    links = spark.read.parquet(str(data / "links.parquet"))
    stitched = stitch(events, links, key_columns=["who"])
    state = partials(design, events, {"reach": True, "funnels": MEASURES["funnels"]}, stitched=stitched, mapping={"keys": "who", "ts": "time"})
    got = as_json(state.finish())
    assert got["reach"] == expected("reach")
    assert got["funnel_0"]["steps"] == expected("funnel")["steps"]


def test_several_key_columns_are_refused_with_a_hint(spark: Any, design: jc.MapDocument) -> None:
    events = spark.createDataFrame([("session:1", "email:a", 1, "view", "web")], "s string, e string, ts long, event string, channel string")
    with pytest.raises(ValueError, match="stitched="):
        partials(design, events, {"reach": True}, mapping={"keys": ["s", "e"]})


def test_empty_events_are_refused(spark: Any, design: jc.MapDocument) -> None:
    events = spark.createDataFrame([], "customer_key string, ts long, event string, channel string")
    with pytest.raises(ValueError, match="empty"):
        analyse(design, events, {"reach": True})

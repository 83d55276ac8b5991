"""Mergeable measures from Python: partial states of parts of the journeys, shipped as
bytes, merged in any order, finish to exactly the one-pass results (the core proves it for
random data; here: the binding, on the benchmark kit's small set split in three, and
every error)."""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

import pytest

import journey_core as jc

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pc = pytest.importorskip("pyarrow.compute")

SMALL = Path(__file__).resolve().parents[2] / "journey-core" / "tests" / "data" / "bench-small"
MEASURES: dict[str, Any] = {
    "reach": True,
    "funnels": [{"steps": [[s] for s in ["product_view", "add_to_cart", "checkout_start", "payment", "order_confirmed"]]}],
    "funnel_breakdowns": [{"funnel": {"steps": [["product_view"], ["order_confirmed"]]}, "by": "channel"}],
    "transitions": ["event", "touchpoint", "phase"],
    "paths": {},
    "emotion": {},
    "gray_areas": {},
    "conformance": True,
    "key_moments": {"outcome": {"touchpoint": "order_confirmation"}},
    "hypotheses": {},
}


@pytest.fixture(scope="module")
def design() -> jc.MapDocument:
    return jc.from_bench_design((SMALL / "design.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def profiled(design: jc.MapDocument) -> Any:
    """The small set with every event's key replaced by its profile (stitched without limits),
    as the Spark pipeline hands it over."""
    whole = jc.Analysis.from_parquet(design, SMALL / "events.parquet", links=SMALL / "links.parquet", identity_limits=False)
    events = pq.read_table(SMALL / "events.parquet")
    profiles = [whole.profile_of(k) for k in events.column("customer_key").to_pylist()]
    return events.set_column(events.schema.get_field_index("customer_key"), "customer_key", pa.array(profiles))


def parts(table: Any, n: int) -> list[Any]:
    """Whole journeys in each part: rows split by a hash of their profile."""
    bucket = pa.array([zlib.crc32(p.encode()) % n for p in table.column("customer_key").to_pylist()])
    return [table.filter(pc.equal(bucket, i)) for i in range(n)]


def as_json(results: jc.PartialResults) -> dict[str, str]:
    return {name: r.to_json() for name, r in results.to_dict().items()}


def test_split_in_three_merged_in_any_order_equals_one_pass(design: jc.MapDocument, profiled: Any) -> None:
    one_pass = jc.Analysis.from_arrow(design, profiled).results(MEASURES)
    states = [jc.Analysis.from_arrow(design, p).partials(MEASURES).to_bytes() for p in parts(profiled, 3)]
    assert all(isinstance(s, bytes) and s.startswith(b"JCPARTS\n") for s in states)
    for order in ([0, 1, 2], [2, 0, 1]):
        merged = jc.Partials.from_bytes(states[order[0]])
        for i in order[1:]:
            merged.merge(jc.Partials.from_bytes(states[i]))
        assert as_json(merged.finish()) == as_json(one_pass)
        whole = jc.Analysis.from_arrow(design, profiled)
        assert (merged.journeys, merged.events) == (len(whole), whole.num_events)
        assert repr(merged) == f"Partials(journeys={len(whole)}, events={whole.num_events})"
    part = jc.Partials.from_bytes(states[0])
    assert 0 < part.journeys < len(jc.Analysis.from_arrow(design, profiled))
    # ...and those are the reference outputs.
    r = one_pass
    assert r.funnels[0] is not None and r.reach is not None
    expected = json.loads((SMALL / "expected" / "funnel.json").read_text())
    assert json.loads(r.funnels[0].to_json())["steps"] == expected["steps"]
    assert json.loads(r.reach.to_json()) == json.loads((SMALL / "expected" / "reach.json").read_text())
    assert r.stitch is None and r.emotion_by_persona is None
    assert set(r.to_dict()) == {
        "reach", "funnel_0", "funnel_breakdown_0", "transitions", "paths", "emotion", "gray_areas",
        "conformance", "key_moments", "hypotheses",
    }
    assert r.funnels[0].table.to_arrow().num_rows == 5


def test_measures_as_json_text(design: jc.MapDocument, profiled: Any) -> None:
    a = jc.Analysis.from_arrow(design, profiled)
    assert as_json(a.results(json.dumps({"reach": True}))) == as_json(a.results({"reach": True}))


def test_bad_measures_name_the_field(design: jc.MapDocument, profiled: Any) -> None:
    a = jc.Analysis.from_arrow(design, profiled.slice(0, 10))
    with pytest.raises(jc.ParseError, match="kk"):
        a.partials({"paths": {"kk": 3}})
    with pytest.raises(jc.ParseError, match="measures"):
        a.partials("{not json")


def test_corrupt_or_foreign_bytes_are_refused(design: jc.MapDocument, profiled: Any) -> None:
    good = bytearray(jc.Analysis.from_arrow(design, profiled.slice(0, 50)).partials({"reach": True}).to_bytes())
    with pytest.raises(jc.ParseError):
        jc.Partials.from_bytes(b"not a partial state")
    flipped = bytearray(good)
    flipped[-3] ^= 0x01
    with pytest.raises(jc.ParseError):
        jc.Partials.from_bytes(bytes(flipped))
    newer = bytearray(good)
    newer[8] = 99
    with pytest.raises(jc.ParseError, match="version"):
        jc.Partials.from_bytes(bytes(newer))


def test_merging_other_measures_is_refused_and_changes_nothing(design: jc.MapDocument, profiled: Any) -> None:
    a = jc.Analysis.from_arrow(design, profiled.slice(0, 100))
    mine = a.partials({"reach": True})
    before = mine.to_bytes()
    with pytest.raises(jc.ParseError, match="options"):
        mine.merge(a.partials({"reach": True, "conformance": True}))
    assert mine.to_bytes() == before
    with pytest.raises(ValueError, match="itself"):
        mine.merge(mine)


def test_quantile_sketch_keeps_counts_exact_and_medians_within_its_accuracy(design: jc.MapDocument, profiled: Any) -> None:
    exact_measures: dict[str, Any] = {"funnels": MEASURES["funnels"], "gray_areas": {}}
    measures = {**exact_measures, "quantiles": {"sketch": {"relative_accuracy": 0.01}}}
    exact = jc.Analysis.from_arrow(design, profiled).results(exact_measures)
    states = [jc.Analysis.from_arrow(design, p).partials(measures).to_bytes() for p in parts(profiled, 3)]
    merged = jc.Partials.from_bytes(states[2])
    for s in states[:2]:
        merged.merge(jc.Partials.from_bytes(s))
    r = merged.finish()
    assert r.relative_accuracy == 0.01 and exact.relative_accuracy is None
    assert r.funnels[0] is not None and exact.funnels[0] is not None
    got = json.loads(r.funnels[0].to_json())["time_to_convert"]
    want = json.loads(exact.funnels[0].to_json())["time_to_convert"]
    assert got["relative_accuracy"] == 0.01 and "relative_accuracy" not in want
    assert (got["journeys"], got["histogram"]) == (want["journeys"], want["histogram"])
    assert got["median_us"] != want["median_us"]
    assert abs(got["median_us"] - want["median_us"]) <= 0.01 * want["median_us"]
    assert abs(got["p90_us"] - want["p90_us"]) <= 0.01 * want["p90_us"] + 0.5
    assert r.gray_areas is not None
    gray = json.loads(r.gray_areas.to_json())
    assert gray["median_gap_relative_accuracy"] == 0.01
    # one pass gives the same estimates
    assert r.funnels[0].to_json() == jc.Analysis.from_arrow(design, profiled).results(measures).funnels[0].to_json()
    exact_states = [jc.Analysis.from_arrow(design, p).partials(exact_measures).to_bytes() for p in parts(profiled, 3)]
    assert sum(map(len, states)) < sum(map(len, exact_states))


def test_bad_quantile_options_and_mixed_states_are_refused(design: jc.MapDocument, profiled: Any) -> None:
    a = jc.Analysis.from_arrow(design, profiled.slice(0, 100))
    with pytest.raises(jc.ParseError) as err:
        a.partials({"gray_areas": {}, "quantiles": {"sketch": {"relative_accuracy": 0.5}}})
    assert err.value.path == "quantiles.relative_accuracy"
    with pytest.raises(jc.ParseError, match="approximate"):
        a.partials({"quantiles": "approximate"})
    mine = a.partials({"gray_areas": {}})
    with pytest.raises(jc.ParseError) as err:
        mine.merge(a.partials({"gray_areas": {}, "quantiles": {"sketch": {}}}))
    assert err.value.path == "partial.header.options.quantiles"

"""Hostile input never crashes the interpreter: panics become InternalError, limits are
LimitError naming the limit, the value and the field, and self-containing or deeply
nested values are refused instead of overflowing the stack."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import journey_core
from journey_core import InternalError, JourneyError, LimitError, MapDocument, Tracker
from journey_core import _native

SHOP = Path(__file__).resolve().parents[2] / "examples" / "maps" / "shop.json"
T0 = 1_736_121_600_000_000


@pytest.fixture(scope="module")
def shop() -> MapDocument:
    return MapDocument.load(SHOP)


def event(name: str = "product_view", key: str = "session:h", **extra: Any) -> dict[str, Any]:
    return {"ts": T0, "keys": [key], "event": name, "channel": "web", **extra}


def test_a_panic_is_an_internal_error_not_a_base_exception() -> None:
    panic = getattr(_native, "_panic_for_testing")
    with pytest.raises(InternalError) as caught:
        panic()
    err = caught.value
    assert isinstance(err, JourneyError)
    assert isinstance(err, Exception), "catchable with `except Exception`"
    assert err.kind == "internal"
    assert err.message == "deliberate panic for testing"
    assert "internal error in journey-core (please report it): deliberate panic for testing" in str(err)
    # The module goes on working after the panic.
    assert journey_core.normalize_emotion(4, "csat") == 0.5
    try:
        panic()
    except Exception as e:  # noqa: BLE001 - the point: `except Exception` catches it
        assert type(e) is InternalError
    assert InternalError.__module__ == "journey_core"
    assert "_panic_for_testing" not in journey_core.__all__


def test_a_panic_does_not_end_the_process() -> None:
    # In a child interpreter, so the panic message Rust prints stays out of the output.
    code = (
        "import journey_core, journey_core._native as n\n"
        "try:\n"
        "    n._panic_for_testing()\n"
        "except journey_core.JourneyError as e:\n"
        "    print(type(e).__name__, journey_core.normalize_emotion(5, 'csat'))\n"
    )
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, "RUST_BACKTRACE": "0"}, check=False)
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == "InternalError 1.0"
    assert "panicked" in child.stderr


def test_limit_errors_name_the_limit_the_value_and_the_field(shop: MapDocument) -> None:
    tracker = Tracker(shop)
    with pytest.raises(LimitError) as caught:
        tracker.track(event("n" * 257))
    err = caught.value
    assert isinstance(err, ValueError) and isinstance(err, JourneyError)
    assert (err.kind, err.limit, err.max, err.value, err.field, err.index) == ("limit", "event_name_len", 256, 257, "event", None)
    assert str(err) == "limit exceeded: event: 257 bytes, over the limit `event_name_len` of 256"
    tracker.track(event("n" * 256))


def test_a_limit_in_a_batch_names_the_index_and_applies_nothing(shop: MapDocument) -> None:
    tracker = Tracker(shop)
    batch = [event(key="session:b"), event(key="session:b", properties={"note": "x" * 70_000})]
    with pytest.raises(LimitError) as caught:
        tracker.track_batch(batch)
    err = caught.value
    assert (err.limit, err.value, err.field, err.index) == ("property_value_len", 70_002, "properties.note", 1)
    assert tracker.context("session:b") is None
    keys = [f"session:k{i}" for i in range(33)]
    with pytest.raises(LimitError, match="keys_per_event"):
        tracker.track({**event(), "keys": keys})
    with pytest.raises(LimitError, match="batch_size"):
        tracker.track_batch([event()] * 10_001)


def test_self_containing_and_deeply_nested_values_are_refused(shop: MapDocument) -> None:
    tracker = Tracker(shop)
    cycle: list[Any] = []
    cycle.append(cycle)
    with pytest.raises(ValueError, match="nested more than 64 levels deep"):
        tracker.track(event(properties={"loop": cycle}))
    looped: dict[str, Any] = {}
    looped["self"] = looped
    with pytest.raises(ValueError, match=r"event\[\"properties\"\]\[\"x\"\]"):
        tracker.track(event(properties={"x": looped}))
    deep: Any = 1
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(ValueError, match="nested more than 64"):
        tracker.track(event(properties={"deep": deep}))
    with pytest.raises(ValueError, match="nested more than 64"):
        MapDocument.from_dict({"name": "x", "maps": deep})
    # Within the bindings' depth, the core's own limit applies.
    nested: Any = 1
    for _ in range(40):
        nested = {"x": nested}
    with pytest.raises(LimitError) as caught:
        tracker.track(event(properties={"n": nested}))
    assert (caught.value.limit, caught.value.value) == ("property_depth", 41)
    # Deeply nested JSON text is a parse error.
    with pytest.raises(journey_core.ParseError):
        MapDocument.from_json('{"name": "x", "maps": ' + "[" * 100_000 + "]" * 100_000 + "}")


def test_oversized_maps_are_refused_with_limit_problems() -> None:
    phases = [{"id": f"p{i}", "name": f"P{i}"} for i in range(101)]
    touchpoints = [{"id": f"t{i}", "name": "T", "phase": f"p{i}"} for i in range(101)]
    doc = MapDocument.from_dict(
        {"name": "Big", "personas": [{"id": "b", "name": "B"}], "maps": [{"id": "m", "name": "M", "persona": "b", "phases": phases, "touchpoints": touchpoints}]}
    )
    problems = doc.problems()
    assert [(p.kind, p.path) for p in problems] == [("limit_exceeded", "maps[0].phases")]
    assert problems[0].message == "the map has 101 phases, over the limit `map_phases` of 100"
    with pytest.raises(journey_core.ValidationError):
        Tracker(doc)


def test_limits_are_configurable(shop: MapDocument) -> None:
    tracker = Tracker(shop, limits={"event_name_len": 4, "batch_size": 2})
    assert tracker.config["limits"]["event_name_len"] == 4
    assert tracker.config["limits"]["keys_per_profile"] == 1000, "others keep their default"
    tracker.track(event("view"))
    with pytest.raises(LimitError) as caught:
        tracker.track(event("views"))
    assert (caught.value.limit, caught.value.max, caught.value.value) == ("event_name_len", 4, 5)
    with pytest.raises(LimitError, match="batch_size"):
        tracker.track_batch([event("a"), event("b"), event("c")])
    with pytest.raises(journey_core.ParseError) as bad:
        Tracker(shop, limits={"batch": 1})
    assert bad.value.path == "limits.batch"
    with pytest.raises(journey_core.ParseError) as wrong:
        Tracker(shop, limits={"batch_size": "many"})
    assert wrong.value.path == "limits.batch_size"
    with pytest.raises(LimitError):
        journey_core.backtest(shop, [event("a"), event("b")], limits={"batch_size": 1, "event_name_len": 0})


def test_keys_per_profile_refuses_links_as_conflicts(shop: MapDocument) -> None:
    tracker = Tracker(shop, limits={"keys_per_profile": 2})
    assert tracker.link("session:a", "device:a", T0) == "joined"
    assert tracker.link("session:a", "device:b", T0) == "refused"
    [conflict] = tracker.conflicts()
    assert (conflict["kind"], conflict["limit"], conflict["other"]) == ("*", 2, "device:b")

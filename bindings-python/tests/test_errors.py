"""One test per error class, each with the input that raises it."""

from __future__ import annotations

import errno
import json
import pickle
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import journey_core
from journey_core import (
    BadEventError,
    ClosedError,
    ConflictError,
    EmotionError,
    InternalError,
    JourneyError,
    JourneyIOError,
    LimitError,
    MapDocument,
    NotFoundError,
    ParseError,
    StorageError,
    Tracker,
    ValidationError,
)
from journey_core.types import Event

SHOP = Path(__file__).resolve().parents[2] / "examples" / "maps" / "shop.json"
T0 = 1_736_121_600_000_000

ALL_CLASSES: dict[str, type[JourneyError]] = {
    "parse": ParseError,
    "validation": ValidationError,
    "emotion": EmotionError,
    "bad_event": BadEventError,
    "storage": StorageError,
    "conflict": ConflictError,
    "closed": ClosedError,
    "not_found": NotFoundError,
    "io": JourneyIOError,
    "limit": LimitError,
    "internal": InternalError,
}


def test_exception_tree() -> None:
    for kind, cls in ALL_CLASSES.items():
        assert issubclass(cls, JourneyError)
        assert cls.kind == kind
    assert issubclass(JourneyError, Exception)
    assert issubclass(EmotionError, ValueError)
    assert issubclass(BadEventError, ValueError)
    assert issubclass(LimitError, ValueError)
    assert issubclass(JourneyIOError, OSError)
    classes: list[type[JourneyError]] = [JourneyError, *ALL_CLASSES.values()]
    for cls in classes:
        assert cls.__module__ == "journey_core"
        assert cls.__doc__


def test_exceptions_module_reexports_the_same_classes() -> None:
    from journey_core import exceptions

    for name in exceptions.__all__:
        assert getattr(exceptions, name) is getattr(journey_core, name) is getattr(journey_core._native, name)


def test_parse_error_unknown_field(shop_dict: dict[str, Any]) -> None:
    shop_dict["maps"][0]["touchpoints"][1]["colour"] = "red"
    with pytest.raises(ParseError) as info:
        MapDocument.from_json(json.dumps(shop_dict))
    err = info.value
    assert err.kind == "parse"
    assert err.path == "maps[0].touchpoints[1].colour"
    assert err.file is None
    assert "unknown field `colour`" in err.message
    assert str(err).startswith("maps[0].touchpoints[1].colour: unknown field `colour`")


def test_parse_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"name": "x", "maps": [{"id": 3}]}', encoding="utf-8")
    with pytest.raises(ParseError) as info:
        MapDocument.load(path)
    assert info.value.file == str(path)
    assert info.value.path == "maps[0].id"
    assert str(info.value).startswith(f"{path}: maps[0].id: ")


def test_parse_error_bad_json() -> None:
    with pytest.raises(ParseError) as info:
        MapDocument.from_json("{not json")
    assert info.value.file is None
    assert "key must be a string" in info.value.message


def test_validation_error_carries_problems_as_data(shop_dict: dict[str, Any]) -> None:
    buy = shop_dict["maps"][0]
    buy["touchpoints"][0]["phase"] = "ghost"
    buy["touchpoints"][1]["events"] = ["product_view"]
    buy["touchpoints"][1]["emotion"] = {"csat": 6}
    shop_dict["maps"][1]["id"] = "buy"
    doc = MapDocument.from_dict(shop_dict)
    with pytest.raises(ValidationError) as info:
        doc.validate()
    err = info.value
    assert err.kind == "validation"
    assert [(p.kind, p.path) for p in err.problems] == [
        ("duplicate_id", "maps[1].id"),
        ("empty_phase", "maps[0].phases[0]"),
        ("unknown_phase", "maps[0].touchpoints[0].phase"),
        ("event_claimed_twice", "maps[0].touchpoints[1].events[0]"),
        ("emotion_out_of_range", "maps[0].touchpoints[1].emotion"),
    ]
    assert err.problems == doc.problems()
    assert str(err).startswith("the map document has 5 problems:\n  - maps[1].id: ")
    assert all(p.path in str(err) for p in err.problems)


def test_emotion_error_csat_6() -> None:
    with pytest.raises(EmotionError) as info:
        journey_core.normalize_emotion(6, "csat")
    err = info.value
    assert isinstance(err, ValueError)
    assert err.kind == "emotion"
    assert err.scale == "csat"
    assert err.value == "6"
    assert err.range == "an integer from 1 to 5"
    assert str(err) == "csat rating 6 is out of range: expected an integer from 1 to 5"


def test_emotion_error_is_never_clamped() -> None:
    for value, scale in [(1.5, "score"), (11, "nps"), (3.5, "csat"), ("happy", "label"), (2, "label")]:
        with pytest.raises(EmotionError):
            journey_core.normalize_emotion(value, scale)


def test_unknown_scale_is_a_parse_error() -> None:
    with pytest.raises(ParseError) as info:
        journey_core.normalize_emotion(4, "stars")
    assert info.value.path == "scale"


def test_not_found_error_unknown_map_id(shop_json: str) -> None:
    doc = MapDocument.from_json(shop_json)
    for render in (doc.to_mermaid, doc.to_svg):
        with pytest.raises(NotFoundError) as info:
            render("nope")
        assert info.value.kind == "not_found"
        assert info.value.what == "map"
        assert info.value.id == "nope"
        assert str(info.value) == 'no map with id "nope"'


def test_not_found_error_document_without_maps() -> None:
    doc = MapDocument.from_json('{"name": "Empty", "maps": []}')
    with pytest.raises(NotFoundError):
        doc.to_mermaid()
    with pytest.raises(NotFoundError):
        doc._repr_svg_()


def test_not_found_error_unknown_preset() -> None:
    with pytest.raises(NotFoundError) as info:
        journey_core.preset_phases("hourglass")
    assert info.value.what == "preset"
    assert info.value.id == "hourglass"


def test_io_error_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    with pytest.raises(JourneyIOError) as info:
        MapDocument.load(missing)
    err = info.value
    assert isinstance(err, OSError)
    assert err.kind == "io"
    assert err.errno == errno.ENOENT
    assert err.filename == str(missing)
    assert err.path == str(missing)
    assert str(missing) in str(err)


def test_io_error_on_save(tmp_path: Path, shop_json: str) -> None:
    with pytest.raises(JourneyIOError) as info:
        MapDocument.from_json(shop_json).save(tmp_path / "no" / "such" / "dir.json")
    assert info.value.errno == errno.ENOENT


def test_io_error_without_os_error_number(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{"name": "Caf\xe9", "maps": []}')
    with pytest.raises(JourneyIOError) as info:
        MapDocument.load(path)
    assert info.value.errno is None
    assert info.value.path == str(path)
    assert str(path) in str(info.value)


def test_simple_errors_pickle(tmp_path: Path) -> None:
    with pytest.raises(JourneyIOError) as io:
        MapDocument.load(tmp_path / "missing.json")
    with pytest.raises(ParseError) as parse:
        MapDocument.from_json("[]")
    for err in (io.value, parse.value):
        again = pickle.loads(pickle.dumps(err))
        assert type(again) is type(err)
        assert str(again) == str(err)


# ---- tracking errors ----------------------------------------------------------------


@pytest.fixture
def tracker() -> Any:
    with Tracker(MapDocument.load(SHOP)) as t:
        yield t


def good(key: str = "session:z", ts: int = T0) -> Event:
    return {"ts": ts, "keys": [key], "event": "product_view", "channel": "web"}


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"keys": []}, "keys", "at least one identity key"),
        ({"keys": ["nocolon"]}, "keys[0]", "not of the form kind:value"),
        ({"event": " "}, "event", "must not be empty"),
        ({"channel": ""}, "channel", "must not be empty"),
        ({"rating": {"csat": 9}}, "rating", "csat rating 9 is out of range"),
        ({"rating": "happy"}, "rating", ""),
        ({"ts": "yesterday"}, "ts", "invalid type"),
        ({"ts": 1.5}, "ts", "invalid type"),
        ({"ts": True}, "ts", "invalid type"),
        ({"ts": datetime(2025, 1, 6)}, "ts", "naive datetime"),
        ({"properties": [1]}, "properties", "invalid type"),
        ({"colour": "red"}, "colour", "unknown field `colour`"),
    ],
)
def test_bad_event_error(tracker: Tracker, change: dict[str, Any], field: str, message: str) -> None:
    event: dict[str, Any] = {**good(), **change}
    with pytest.raises(BadEventError) as info:
        tracker.track(event)  # type: ignore[arg-type]
    err = info.value
    assert isinstance(err, ValueError)
    assert err.kind == "bad_event"
    assert err.index is None
    assert err.field == field
    assert message in err.message
    assert str(err) == f"bad event: {field}: {err.message}"
    assert tracker.context("session:z") is None, "nothing was stored"


def test_bad_event_error_missing_field(tracker: Tracker) -> None:
    with pytest.raises(BadEventError) as info:
        tracker.track({"ts": T0, "keys": ["session:z"], "event": "x"})  # type: ignore[typeddict-item]
    assert "missing field `channel`" in info.value.message
    assert info.value.field == "", "a missing field is a problem of the whole event"


def test_bad_event_in_a_batch_names_its_index_and_nothing_is_applied(tracker: Tracker) -> None:
    bad: dict[str, Any] = {**good(ts=T0 + 1), "rating": {"nps": 11}}
    batch: list[Any] = [good(), good("session:y"), bad, good("session:x")]
    with pytest.raises(BadEventError) as info:
        tracker.track_batch(batch)
    err = info.value
    assert (err.index, err.field) == (2, "rating")
    assert str(err).startswith("bad event at index 2: rating: nps rating 11 is out of range")
    for key in ("session:z", "session:y", "session:x"):
        assert tracker.context(key) is None, key
    assert tracker.pending_actions() == []
    assert tracker.count() == 0


def test_bad_event_in_a_batch_naive_datetime(tracker: Tracker) -> None:
    naive: dict[str, Any] = {**good(), "ts": datetime(2025, 1, 6)}
    with pytest.raises(BadEventError) as info:
        tracker.track_batch([good(), naive])  # type: ignore[list-item]
    assert (info.value.index, info.value.field) == (1, "ts")
    assert tracker.context("session:z") is None


def test_bad_event_in_backtest() -> None:
    with pytest.raises(BadEventError) as info:
        journey_core.backtest(MapDocument.load(SHOP), [good(), good(), {**good(), "keys": []}])
    assert (info.value.index, info.value.field) == (2, "keys")


def test_bad_event_error_pickles(tracker: Tracker) -> None:
    with pytest.raises(BadEventError) as info:
        tracker.track_batch([good(), {**good(), "keys": []}])
    again = pickle.loads(pickle.dumps(info.value))
    assert type(again) is BadEventError
    assert str(again) == str(info.value)
    assert (again.index, again.field) == (1, "keys")


def test_events_with_no_json_form_are_type_errors(tracker: Tracker) -> None:
    with pytest.raises(TypeError, match="event must be a dict, not list"):
        tracker.track([good()])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"events\[1\] must be a dict, not str"):
        tracker.track_batch([good(), "view"])  # type: ignore[list-item]
    with pytest.raises(TypeError, match=r"events\[0\]\[\"properties\"\]\[\"when\"\]"):
        tracker.track_batch([{**good(), "properties": {"when": object()}}])
    with pytest.raises(ValueError, match="NaN"):
        tracker.track({**good(), "properties": {"x": float("nan")}})
    with pytest.raises(TypeError):
        tracker.track_batch(3)  # type: ignore[arg-type]
    assert tracker.context("session:z") is None


def test_conversion_errors_name_the_whole_path(tracker: Tracker) -> None:
    """The full message of each conversion error, with the path to the bad value (dict
    keys quoted and escaped as Rust's `{:?}` writes them)."""
    expected = "(expected None, bool, int, float, str, list, tuple or dict)"
    deep: Any = 1
    for _ in range(70):
        deep = [deep]
    cases: list[tuple[Any, type[Exception], str]] = [
        (
            lambda: tracker.track_batch([good(), {**good(), "properties": {"a": [1, ({'b"é\n\t': object()},)]}}]),
            TypeError,
            f'events[1]["properties"]["a"][1][0]["b\\"é\\n\\t"]: object has no JSON form {expected}',
        ),
        (lambda: tracker.track({**good(), "properties": {"x": 2**70}}), ValueError, 'event["properties"]["x"]: integer 1180591620717411303424 is too large for JSON'),
        (
            lambda: tracker.track({**good(), "properties": {"x": [float("inf")]}}),
            ValueError,
            'event["properties"]["x"][0]: inf has no JSON form (NaN and infinities are not allowed)',
        ),
        (lambda: tracker.track_batch([good(), good(), {**good(), "properties": {1: 2}}]), TypeError, 'events[2]["properties"]: keys must be str, not int'),
        (lambda: tracker.track_batch([good(), {**good(), 3: 4}]), TypeError, "events[1]: keys must be str, not int"),
        (lambda: tracker.track({**good(), "channel": b"web"}), TypeError, f'event["channel"]: bytes has no JSON form {expected}'),
        (
            lambda: tracker.track({**good(), "properties": {"deep": deep}}),
            ValueError,
            'event["properties"]["deep"]' + "[0]" * 63 + ": nested more than 64 levels deep (a list or dict containing itself?)",
        ),
        (lambda: MapDocument.from_dict({"name": "x", "maps": [{"id": {1.5}}]}), TypeError, f'data["maps"][0]["id"]: set has no JSON form {expected}'),
        (lambda: tracker.set_attributes("session:z", {"a": {"b": [None, object()]}}), TypeError, f'attributes["a"]["b"][1]: object has no JSON form {expected}'),
    ]
    for call, error, message in cases:
        with pytest.raises(error) as info:
            call()
        assert str(info.value) == message


def test_time_arguments(tracker: Tracker) -> None:
    with pytest.raises(ValueError, match="now: a naive datetime"):
        tracker.advance(datetime(2025, 1, 6))
    with pytest.raises(TypeError, match="now must be an int"):
        tracker.advance("2025-01-06")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="ts must be an int"):
        tracker.link("email:a@x.com", "email:b@x.com", True)
    with pytest.raises(ValueError, match="until: a naive datetime"):
        journey_core.backtest(MapDocument.load(SHOP), [], until=datetime(2025, 1, 6))


def test_conflict_error_unlinking_keys_that_are_not_linked(tracker: Tracker) -> None:
    tracker.track(good("email:a@x.com"))
    tracker.track(good("email:b@x.com"))
    with pytest.raises(ConflictError) as info:
        tracker.unlink("email:a@x.com", "email:b@x.com", T0)
    err = info.value
    assert err.kind == "conflict"
    assert err.message
    assert str(err) == f"identity conflict: {err.message}"


def test_closed_error(tracker: Tracker) -> None:
    tracker.close()
    with pytest.raises(ClosedError) as info:
        tracker.track(good())
    assert info.value.kind == "closed"
    assert info.value.what == "tracker"
    assert str(info.value) == "the tracker is closed"


def test_not_found_errors_of_the_tracker(tracker: Tracker) -> None:
    with pytest.raises(NotFoundError) as info:
        Tracker(MapDocument.load(SHOP), map="nope")
    assert (info.value.what, info.value.id) == ("map", "nope")
    with pytest.raises(NotFoundError) as info:
        tracker.profiles(reached="nope")
    assert (info.value.what, info.value.id) == ("phase", "nope")
    with pytest.raises(NotFoundError) as info:
        tracker.assign_persona("email:nobody@x.com", "busy_professional")
    assert (info.value.what, info.value.id) == ("identity key", "email:nobody@x.com")
    with pytest.raises(NotFoundError):
        tracker.set_attributes("email:nobody@x.com", {"segment": "professional"})


def test_parse_errors_of_the_tracker(tracker: Tracker) -> None:
    with pytest.raises(ParseError) as info:
        tracker.context("nokind")
    assert info.value.path == "key"
    assert "kind:value" in info.value.message
    with pytest.raises(ParseError) as info:
        tracker.link("email:a@x.com", "Bad:x", T0)
    assert info.value.path == "b"
    with pytest.raises(ParseError) as info:
        Tracker(MapDocument.load(SHOP), identity={"levels": {"email": "famous"}})  # type: ignore[arg-type]
    assert info.value.path == "identity.levels.email"
    with pytest.raises(ParseError) as info:
        Tracker(MapDocument.load(SHOP), identity={"limit": {}})  # type: ignore[arg-type]
    assert info.value.path == "identity.limit"
    with pytest.raises(ParseError) as info:
        tracker.count({"colour": "red"})  # type: ignore[arg-type]
    assert info.value.path == "filter.colour"
    with pytest.raises(ParseError) as info:
        tracker.count(level="famous")  # type: ignore[arg-type]
    assert info.value.path == "filter.level"


def test_type_errors_of_the_tracker(tracker: Tracker) -> None:
    with pytest.raises(TypeError, match="identity must be a dict"):
        Tracker(MapDocument.load(SHOP), identity=[])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="filter must be a dict"):
        tracker.profiles("purchase")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="given twice"):
        tracker.count({"reached": "purchase"}, reached="purchase")
    with pytest.raises(TypeError, match="attributes must be a dict"):
        tracker.set_attributes("session:a", [("a", 1)])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Tracker(MapDocument.load(SHOP), interest_properties="topic")
    with pytest.raises(OverflowError):
        Tracker(MapDocument.load(SHOP), recent_events=-1)


def test_storage_error_class() -> None:
    # The in-memory store cannot fail; the mapping of the core's storage errors is tested
    # in Rust (bindings-python/src/error.rs). The SQLite store will raise it for real.
    assert StorageError.kind == "storage"
    assert "source" in (StorageError.__doc__ or "")

"""One test per error class, each with the input that raises it."""

from __future__ import annotations

import errno
import json
import pickle
from pathlib import Path
from typing import Any

import pytest

import journey_core
from journey_core import (
    EmotionError,
    JourneyError,
    JourneyIOError,
    MapDocument,
    NotFoundError,
    ParseError,
    ValidationError,
)


def test_exception_tree() -> None:
    for cls in (ParseError, ValidationError, EmotionError, NotFoundError, JourneyIOError):
        assert issubclass(cls, JourneyError)
    assert issubclass(JourneyError, Exception)
    assert issubclass(EmotionError, ValueError)
    assert issubclass(JourneyIOError, OSError)
    assert {cls.kind for cls in (ParseError, ValidationError, EmotionError, NotFoundError, JourneyIOError)} == {
        "parse",
        "validation",
        "emotion",
        "not_found",
        "io",
    }
    for cls in (JourneyError, ParseError, ValidationError, EmotionError, NotFoundError, JourneyIOError):
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

"""One test per public function and method of journey_core."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import journey_core
from journey_core import MapDocument, Phase, Problem


def test_version() -> None:
    assert isinstance(journey_core.__version__, str)
    assert journey_core.__version__.count(".") == 2
    assert journey_core._native.__version__ == journey_core.__version__


def test_all_is_complete() -> None:
    public = {name for name in dir(journey_core._native) if not name.startswith("_")}
    assert public <= set(journey_core.__all__)
    for name in journey_core.__all__:
        assert hasattr(journey_core, name), name


def test_docstrings_come_from_rust() -> None:
    for item in (MapDocument, MapDocument.load, MapDocument.to_svg, Phase, Problem, journey_core.normalize_emotion):
        assert item.__doc__, item
    assert "Raises:" in (MapDocument.load.__doc__ or "")


def test_from_json(shop_json: str) -> None:
    doc = MapDocument.from_json(shop_json)
    assert doc.name == "Shop"
    assert doc.map_ids == ["buy", "return"]


def test_from_dict(shop_dict: dict[str, Any], shop_json: str) -> None:
    assert MapDocument.from_dict(shop_dict) == MapDocument.from_json(shop_json)


def test_from_dict_rejects_values_with_no_json_form(shop_dict: dict[str, Any]) -> None:
    with pytest.raises(TypeError, match="data must be a dict"):
        MapDocument.from_dict([shop_dict])  # type: ignore[arg-type]
    shop_dict["maps"][0]["touchpoints"][0]["events"] = [object()]
    with pytest.raises(TypeError, match=r"data\[\"maps\"\]\[0\]\[\"touchpoints\"\]\[0\]\[\"events\"\]\[0\]"):
        MapDocument.from_dict(shop_dict)
    shop_dict["maps"][0]["touchpoints"][0]["events"] = []
    shop_dict["maps"][0]["touchpoints"][0]["emotion"] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        MapDocument.from_dict(shop_dict)


def test_load(shop_file: Path) -> None:
    doc = MapDocument.load(shop_file)
    assert doc.map_ids == ["buy", "return"]
    assert MapDocument.load(str(shop_file)) == doc


def test_to_json_round_trip(shop_file: Path) -> None:
    doc = MapDocument.load(shop_file)
    text = doc.to_json()
    assert text.endswith("}\n")
    assert text.startswith('{\n  "version": 1,')
    again = MapDocument.from_json(text)
    assert again == doc
    assert again.to_json() == text


def test_to_dict(shop_dict: dict[str, Any]) -> None:
    doc = MapDocument.from_dict(shop_dict)
    data = doc.to_dict()
    assert data == json.loads(doc.to_json())
    assert list(data) == ["version", "name", "personas", "maps"]
    checkout = data["maps"][0]["touchpoints"][1]
    assert checkout["emotion"] == {"csat": 4}
    assert checkout["key_moment"] is True
    assert data["personas"][0]["preferred_channels"] == ["web", "hologram"]
    assert MapDocument.from_dict(data) == doc


def test_save(tmp_path: Path, shop_json: str) -> None:
    doc = MapDocument.from_json(shop_json)
    target = tmp_path / "saved.json"
    doc.save(target)
    assert target.read_text(encoding="utf-8") == doc.to_json()
    assert MapDocument.load(target) == doc
    assert [p.name for p in tmp_path.iterdir()] == ["saved.json"]  # no temporary file left
    doc.save(str(target))  # overwrites, str paths too
    assert MapDocument.load(target) == doc


def test_name(shop_json: str) -> None:
    assert MapDocument.from_json(shop_json).name == "Shop"


def test_map_ids(shop_json: str) -> None:
    assert MapDocument.from_json(shop_json).map_ids == ["buy", "return"]


def test_validate(shop_json: str) -> None:
    assert MapDocument.from_json(shop_json).validate() is None


def test_problems(shop_dict: dict[str, Any]) -> None:
    assert MapDocument.from_dict(shop_dict).problems() == []
    shop_dict["maps"][0]["touchpoints"][0]["phase"] = "ghost"
    problems = MapDocument.from_dict(shop_dict).problems()
    kinds = [(p.kind, p.path) for p in problems]
    assert ("unknown_phase", "maps[0].touchpoints[0].phase") in kinds
    assert ("empty_phase", "maps[0].phases[0]") in kinds


def test_problem_object(shop_dict: dict[str, Any]) -> None:
    shop_dict["maps"][1]["persona"] = "nobody"
    [problem] = MapDocument.from_dict(shop_dict).problems()
    assert isinstance(problem, Problem)
    assert problem.kind == "unknown_persona"
    assert problem.path == "maps[1].persona"
    assert problem.message == 'persona "nobody" is not defined in `personas`'
    assert problem.to_dict() == {"kind": problem.kind, "path": problem.path, "message": problem.message}
    assert str(problem) == f"{problem.path}: {problem.message}"
    assert repr(problem) == (
        "Problem(kind='unknown_persona', path='maps[1].persona', "
        "message='persona \"nobody\" is not defined in `personas`')"
    )
    assert problem == MapDocument.from_dict(shop_dict).problems()[0]


def test_to_mermaid(shop_json: str) -> None:
    doc = MapDocument.from_json(shop_json)
    first = doc.to_mermaid()
    assert first.startswith("journey\n    title Buying online\n")
    assert "      Pays ★: 4: billing\n" in first
    assert doc.to_mermaid("buy") == first
    assert doc.to_mermaid(map_id="return").startswith("journey\n    title Returning an item\n")


def test_to_svg(shop_json: str) -> None:
    doc = MapDocument.from_json(shop_json)
    svg = doc.to_svg()
    assert svg.lstrip().startswith(("<svg", "<?xml"))
    assert "</svg>" in svg
    assert "Buying online" in svg
    assert doc.to_svg("buy") == svg
    assert "Returning an item" in doc.to_svg(map_id="return")


def test_repr_svg(shop_json: str) -> None:
    doc = MapDocument.from_json(shop_json)
    assert doc._repr_svg_() == doc.to_svg()


def test_repr(shop_json: str) -> None:
    assert repr(MapDocument.from_json(shop_json)) == "MapDocument(name='Shop', maps=['buy', 'return'])"


def test_equality(shop_dict: dict[str, Any]) -> None:
    doc = MapDocument.from_dict(shop_dict)
    assert doc == MapDocument.from_dict(shop_dict)
    shop_dict["name"] = "Other"
    assert doc != MapDocument.from_dict(shop_dict)
    assert doc != "Shop"
    with pytest.raises(TypeError):
        hash(doc)


def test_presets() -> None:
    assert journey_core.presets() == ["funnel", "relationship"]


def test_preset_phases() -> None:
    funnel = journey_core.preset_phases("funnel")
    assert [p.id for p in funnel] == ["awareness", "interest", "consideration", "action", "usage", "advocacy"]
    assert all(isinstance(p, Phase) for p in funnel)
    assert [p.id for p in journey_core.preset_phases("relationship")] == ["connect", "orient", "interact", "expand", "refer"]
    for name in journey_core.presets():
        assert journey_core.preset_phases(name)


def test_phase_object() -> None:
    phase = journey_core.preset_phases("funnel")[0]
    assert phase.id == "awareness"
    assert phase.name == "Awareness"
    assert phase.description == "The customer learns the brand or product exists."
    assert phase.to_dict() == {"id": phase.id, "name": phase.name, "description": phase.description}
    assert repr(phase) == "Phase(id='awareness', name='Awareness')"
    assert phase == journey_core.preset_phases("funnel")[0]
    assert phase != journey_core.preset_phases("funnel")[1]


def test_preset_phases_build_a_valid_map() -> None:
    phases = [p.to_dict() for p in journey_core.preset_phases("relationship")]
    touchpoints = [{"id": f"t-{p['id']}", "name": p["name"], "phase": p["id"]} for p in phases]
    doc = MapDocument.from_dict(
        {
            "name": "Preset",
            "personas": [{"id": "p", "name": "P"}],
            "maps": [{"id": "m", "name": "M", "persona": "p", "phases": phases, "touchpoints": touchpoints}],
        }
    )
    doc.validate()


@pytest.mark.parametrize(
    ("value", "scale", "expected"),
    [
        (0.25, "score", 0.25),
        ("negative", "label", -1.0),
        (1, "label", 1.0),
        (4, "csat", 0.5),
        (4.0, "csat", 0.5),
        (9, "nps", 0.8),
    ],
)
def test_normalize_emotion(value: str | float, scale: str, expected: float) -> None:
    assert journey_core.normalize_emotion(value, scale) == expected
    assert journey_core.normalize_emotion(value, scale=scale) == expected


def test_normalize_emotion_defaults_to_score() -> None:
    assert journey_core.normalize_emotion(-0.5) == -0.5


def test_map_schema() -> None:
    schema = json.loads(journey_core.map_schema())
    assert schema["title"] == "journey-core map document"
    assert {"name", "maps"} <= set(schema["required"])
    assert "maps" in schema["properties"]

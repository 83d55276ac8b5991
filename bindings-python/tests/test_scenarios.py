"""The cross-language scenarios of tests/scenarios/, run through the Python binding.

Every directory holding a ``map.json`` is a scenario; its expected outputs are written by
the Rust runner (journey-core/tests/scenarios.rs) and checked by the Node suite too:

- ``error.json``: loading must fail with this error ``kind`` and ``path``;
- otherwise ``problems.json`` (equal to ``problems()``), ``saved.json`` (byte for byte
  ``to_json()``) and, when present, ``<map_id>.mmd`` / ``<map_id>.svg`` (byte for byte
  ``to_mermaid(map_id)`` / ``to_svg(map_id)``).

``emotion.json`` lists emotion-normalisation cases.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from journey_core import (
    EmotionError,
    JourneyError,
    JourneyIOError,
    MapDocument,
    NotFoundError,
    ParseError,
    ValidationError,
    normalize_emotion,
)

SCENARIOS = Path(__file__).resolve().parents[2] / "tests" / "scenarios"

ERROR_CLASSES: dict[str, type[JourneyError]] = {
    "parse": ParseError,
    "validation": ValidationError,
    "emotion": EmotionError,
    "not_found": NotFoundError,
    "io": JourneyIOError,
}


def scenario_dirs() -> list[Path]:
    if not SCENARIOS.is_dir():
        return []
    return sorted(p for p in SCENARIOS.iterdir() if p.is_dir())


def emotion_cases() -> list[dict[str, Any]]:
    path = SCENARIOS / "emotion.json"
    if not path.is_file():
        return []
    cases: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return cases


def test_scenarios_exist() -> None:
    dirs = scenario_dirs()
    assert dirs, f"no scenario directories in {SCENARIOS}"
    assert emotion_cases(), f"no cases in {SCENARIOS / 'emotion.json'}"


@pytest.mark.parametrize("scenario", scenario_dirs(), ids=lambda p: p.name)
def test_map_scenario(scenario: Path) -> None:
    map_file = scenario / "map.json"
    assert map_file.is_file(), f"{scenario.name}: a scenario directory needs a map.json"
    error_file = scenario / "error.json"
    if error_file.exists():
        expected = json.loads(error_file.read_text(encoding="utf-8"))
        with pytest.raises(JourneyError) as info:
            MapDocument.load(map_file)
        assert isinstance(info.value, ERROR_CLASSES[expected["kind"]])
        assert info.value.kind == expected["kind"]
        if "path" in expected:
            assert getattr(info.value, "path") == expected["path"]
        return

    doc = MapDocument.load(map_file)
    expected_problems = json.loads((scenario / "problems.json").read_text(encoding="utf-8"))
    assert [p.to_dict() for p in doc.problems()] == expected_problems
    if expected_problems:
        with pytest.raises(ValidationError) as invalid:
            doc.validate()
        assert [p.to_dict() for p in invalid.value.problems] == expected_problems
    else:
        doc.validate()

    saved = doc.to_json()
    assert saved.encode("utf-8") == (scenario / "saved.json").read_bytes()
    assert MapDocument.from_json(saved) == doc

    for ext, render in (("mmd", doc.to_mermaid), ("svg", doc.to_svg)):
        for golden in sorted(scenario.glob(f"*.{ext}")):
            assert golden.stem in doc.map_ids, f"{golden.name}: no map with id {golden.stem!r}"
            assert render(golden.stem).encode("utf-8") == golden.read_bytes(), golden.name


@pytest.mark.parametrize(
    "case", emotion_cases(), ids=lambda c: f"{c['scale']}-{json.dumps(c['value'])}"
)
def test_emotion_case(case: dict[str, Any]) -> None:
    if "expected" in case:
        assert normalize_emotion(case["value"], case["scale"]) == case["expected"]
    else:
        with pytest.raises(ERROR_CLASSES[case["error"]]) as info:
            normalize_emotion(case["value"], case["scale"])
        assert info.value.kind == case["error"]

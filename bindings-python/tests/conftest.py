"""Shared fixtures: the repository's paths and a small valid map document."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = REPO / "tests" / "scenarios"
EXAMPLES = REPO / "examples"

SHOP: dict[str, Any] = {
    "name": "Shop",
    "personas": [{"id": "buyer", "name": "Online buyer", "preferred_channels": ["web", "hologram"]}],
    "maps": [
        {
            "id": "buy",
            "name": "Buying online",
            "persona": "buyer",
            "phases": [
                {"id": "interest", "name": "Interest"},
                {"id": "action", "name": "Action"},
            ],
            "touchpoints": [
                {
                    "id": "pdp",
                    "name": "Reads the product page",
                    "phase": "interest",
                    "channels": ["web"],
                    "events": ["product_view"],
                    "emotion": "positive",
                },
                {
                    "id": "checkout",
                    "name": "Pays",
                    "phase": "action",
                    "channels": ["web"],
                    "department": "billing",
                    "events": ["checkout"],
                    "emotion": {"csat": 4},
                    "key_moment": True,
                },
            ],
        },
        {
            "id": "return",
            "name": "Returning an item",
            "persona": "buyer",
            "phases": [{"id": "usage", "name": "Usage"}],
            "touchpoints": [{"id": "rma", "name": "Asks for a return", "phase": "usage", "emotion": -0.5}],
        },
    ],
}


@pytest.fixture
def shop_dict() -> dict[str, Any]:
    """A valid document with two maps, as plain data (a fresh copy per test)."""
    return copy.deepcopy(SHOP)


@pytest.fixture
def shop_json(shop_dict: dict[str, Any]) -> str:
    """The same document as JSON text."""
    return json.dumps(shop_dict)


@pytest.fixture
def shop_file(tmp_path: Path, shop_json: str) -> Path:
    """The same document in a file."""
    path = tmp_path / "shop.json"
    path.write_text(shop_json, encoding="utf-8")
    return path

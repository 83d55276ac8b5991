"""The Python examples, executed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "python"


def run(script: str, *args: str, timeout: int = 120) -> str:
    """Runs an example; returns its output, failing on a non-zero exit."""
    result = subprocess.run([sys.executable, str(EXAMPLES / script), *args], capture_output=True, text=True, timeout=timeout, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_examples_exist() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == ["quickstart.py", "tracking.py", "walkthrough.py"]


def test_quickstart(tmp_path: Path) -> None:
    maps = sorted((REPO / "examples" / "maps").glob("*.json"))
    assert maps, "examples/maps has no map documents"
    out = run("quickstart.py", str(tmp_path))
    assert out.startswith("journey-core ")
    assert out.count(": valid, ") == len(maps)
    assert "key moments: " in out
    drawn = sorted(p.name for p in tmp_path.iterdir())
    assert drawn, "nothing drawn"
    for name in drawn:
        text = (tmp_path / name).read_text(encoding="utf-8")
        if name.endswith(".mmd"):
            assert text.startswith("journey\n")
        else:
            assert name.endswith(".svg") and "</svg>" in text
    assert len([n for n in drawn if n.endswith(".mmd")]) == len([n for n in drawn if n.endswith(".svg")])


def test_tracking(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, str(EXAMPLES / "tracking.py"), str(tmp_path)], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""
    out = result.stdout
    # The waypoint callbacks, each printed by the example's subscriber.
    assert "-> callback_offer for profile 1: anonymous_cart_callback reached at 09:02:00" in out
    assert "-> coupon for profile 1: cart_abandoned missed" in out
    assert "-> chat_offer for profile 3: waiting_on_product missed at 09:02:00" in out
    # The IVR's context of the caller.
    assert "keys: session:s1, phone:+34600000001 (identified)" in out
    assert "recent: product_view@web > add_to_cart@web > remove_from_cart@web > callback_requested@web > ivr_menu@ivr" in out
    # The outbox, then the live clock.
    assert "3 pending: callback_offer, coupon, chat_offer" in out
    assert "after acknowledging: 0 pending" in out
    # The SQLite file, reopened.
    assert "5 events of the caller survived: product_view, add_to_cart, remove_from_cart, callback_requested, ivr_menu" in out
    assert (tmp_path / "journeys.sqlite").is_file()
    lines = (tmp_path / "journeys.jsonl").read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith('{"type":"store"') and sum('"type":"event"' in line for line in lines) == 6
    assert "forgotten: 1 events of session:w" in out
    live = out.split("5. Live")[1]
    assert "-> chat_offer for profile 1: waiting_on_product missed" in live


def test_walkthrough(tmp_path: Path) -> None:
    out = run("walkthrough.py", str(tmp_path), timeout=300)
    for section in ["validation", "stitch", "reach", "funnel", "breakdown", "transitions", "paths", "emotion", "gray areas", "conformance", "key moments", "hypotheses", "journeys", "report"]:
        assert f"## {section}" in out, section
    figures = sorted(p.name for p in tmp_path.glob("*.html"))
    assert figures == ["emotion_curve.html", "funnel.html", "paths_sankey.html", "phase_reach.html"]
    assert (tmp_path / "shop.svg").read_text(encoding="utf-8").rstrip().endswith("</svg>")

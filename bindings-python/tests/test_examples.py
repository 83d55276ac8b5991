"""The Python examples, executed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "python"


def test_examples_exist() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == ["quickstart.py", "tracking.py"]


def test_quickstart(tmp_path: Path) -> None:
    maps = sorted((REPO / "examples" / "maps").glob("*.json"))
    assert maps, "examples/maps has no map documents"
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "quickstart.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
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


def test_tracking() -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "tracking.py")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
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
    live = out.split("5. Live")[1]
    assert "-> chat_offer for profile 1: waiting_on_product missed" in live

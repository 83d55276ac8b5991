"""The Python examples, executed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "python"


def test_examples_exist() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == ["quickstart.py"]


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

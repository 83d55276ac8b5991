"""journey-core quickstart (Python): load the example maps, validate them, print a summary
and draw each map as Mermaid and SVG.

Run: python examples/python/quickstart.py [output-dir]
(files land in a new temporary folder unless a folder is given).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

import journey_core
from journey_core import MapDocument, ValidationError

MAPS_DIR = Path(__file__).resolve().parents[1] / "maps"


def summarize(doc: MapDocument, out: Path) -> None:
    """Prints one document's maps (phases, touchpoints, key moments) and draws them."""
    data: dict[str, Any] = doc.to_dict()
    personas = {p["id"]: p["name"] for p in data.get("personas", [])}
    for journey in data["maps"]:
        touchpoints: list[dict[str, Any]] = journey["touchpoints"]
        key_moments = [t["name"] for t in touchpoints if t.get("key_moment")]
        print(
            f'  map "{journey["id"]}" for {personas.get(journey["persona"], "?")}: '
            f"{len(journey['phases'])} phases, {len(touchpoints)} touchpoints"
        )
        print(f"    phases: {' > '.join(p['name'] for p in journey['phases'])}")
        print(f"    key moments: {', '.join(key_moments) or '(none)'}")
        mmd = out / f"{journey['id']}.mmd"
        svg = out / f"{journey['id']}.svg"
        mmd.write_text(doc.to_mermaid(journey["id"]), encoding="utf-8")
        svg.write_text(doc.to_svg(journey["id"]), encoding="utf-8")
        print(f"    drawn: {mmd} and {svg}")


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else Path(tempfile.mkdtemp(prefix="journey-core-quickstart-"))
    out.mkdir(parents=True, exist_ok=True)
    files = sorted(MAPS_DIR.glob("*.json"))
    if not files:
        print(f"no map documents in {MAPS_DIR}", file=sys.stderr)
        return 1

    print(f"journey-core {journey_core.__version__}")
    status = 0
    for file in files:
        doc = MapDocument.load(file)
        try:
            doc.validate()
        except ValidationError as err:
            # Every problem, with its path into the document.
            print(f"{doc.name} ({file.name}): {len(err.problems)} problem(s)")
            for problem in err.problems:
                print(f"  {problem.kind} at {problem.path}: {problem.message}")
            status = 1
            continue
        print(f"{doc.name} ({file.name}): valid, {len(doc.map_ids)} map(s)")
        summarize(doc, out)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""Tracking speed from Python: batches of events into the in-memory store and into a
SQLite file, with the shop map grown to 20 waypoints as the Rust and Node benchmarks grow
it, through ``Tracker.track_batch``. Events are generated like the Node benchmark
(bindings-node/bench/track-batch.mjs): deterministic, 10% with a second key, 25% with a
property. Prints events/s for each store, and how busy the calling thread and the other
threads (SQLite's writer and WAL copier) were.

Run from the repository root, after ``bash bindings-python/scripts/test.sh`` installed the
wheel into .venv:

    .venv/bin/python bindings-python/bench/track_batch.py

EVENTS, PROFILES, BATCH resize it; STORES=memory,sqlite picks the stores; DIR is the
folder of the SQLite file (a temporary folder by default). Compare with the same batches
from Rust, in the same run: ``cargo bench -p journey-core --bench sqlite``.
"""

from __future__ import annotations

import gc
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import journey_core as jc
from journey_core.types import Event

ROOT = Path(__file__).resolve().parents[2]
T0 = 1_736_121_600_000_000
CHANNELS = ["web", "mobile_app", "email", "phone", "chat"]


def env(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def shop_with_waypoints(count: int) -> tuple[jc.MapDocument, list[str]]:
    """The shop map with `count` waypoints (its own, then generated ones; fewer: its first
    ones), as the Node benchmark builds it."""
    shop = json.loads(jc.MapDocument.load(str(ROOT / "examples/maps/shop.json")).to_json())
    m = shop["maps"][0]
    m["waypoints"] = m["waypoints"][:count]
    tps = [t["id"] for t in m["touchpoints"]]
    i = 0
    while len(m["waypoints"]) < count:
        m["waypoints"].append(
            {
                "id": f"extra{i}",
                "trigger": {"touchpoint": tps[(i * 7) % len(tps)]},
                "condition": {"any": [{"touchpoint": tps[(i * 7 + 3) % len(tps)]}, {"property": {"name": "value", "op": ">", "value": 900}}]},
                "within": f"{5 + i}m",
                "on_missed": [{"kind": "sms"}],
                "cap": {"cooldown": "1d"},
            }
        )
        i += 1
    names = [e for t in m["touchpoints"] for e in t.get("events", [])]
    return jc.MapDocument.from_json(json.dumps(shop)), names


def generate(events: int, profiles: int, names: list[str]) -> list[Event]:
    """The Node benchmark's log: the same linear congruential generator."""
    seed = 42

    def nxt() -> int:
        nonlocal seed
        seed = (seed * 6364136223846793005 + 1442695040888963407) & 0xFFFF_FFFF_FFFF_FFFF
        return seed >> 33

    log: list[Event] = []
    for n in range(events):
        p = nxt() % profiles
        e: Event = {"ts": T0 + n * 20_000, "keys": [f"session:{p:08x}"], "event": names[nxt() % len(names)], "channel": CHANNELS[nxt() % 5]}
        if nxt() % 10 == 0:
            e["keys"].append(f"email:{p % max(1, profiles // 2)}@example.com")
        if nxt() % 4 == 0:
            e["properties"] = {"value": nxt() % 1000}
        log.append(e)
    return log


def thread_cpu() -> dict[str, float]:
    """CPU seconds used so far by each thread of this process (Linux; empty elsewhere)."""
    out: dict[str, float] = {}
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return out
    for task in tasks:
        try:
            stat = Path(f"/proc/self/task/{task}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        # utime and stime, fields 14 and 15 of stat(5), in clock ticks (100 a second here).
        out[task] = (int(fields[11]) + int(fields[12])) / 100
    return out


def main() -> None:
    events, profiles, batch = env("EVENTS", 1_000_000), env("PROFILES", 100_000), env("BATCH", 1000)
    doc, names = shop_with_waypoints(env("WAYPOINTS", 20))
    log = generate(events, profiles, names)
    batches = [log[i : i + batch] for i in range(0, events, batch)]
    # The generated log is a million dicts: keep the cyclic collector from walking it again
    # and again while the results are made (it would measure Python's GC, not the binding).
    gc.freeze()
    print(f"{events} events over {profiles} keys, batches of {batch}, shop map with 20 waypoints")
    with tempfile.TemporaryDirectory(dir=os.environ.get("DIR")) as folder:
        for store in os.environ.get("STORES", "memory,sqlite").split(","):
            tracker = jc.Tracker(doc, path=str(Path(folder) / "bench.db")) if store == "sqlite" else jc.Tracker(doc)
            fired = 0
            before = thread_cpu()
            start = time.perf_counter()
            for b in batches:
                for tracked in tracker.track_batch(b):
                    fired += len(tracked["actions"])
            secs = time.perf_counter() - start
            after = thread_cpu()
            me = str(os.getpid())
            caller = after.get(me, 0.0) - before.get(me, 0.0)
            others = sum(v - before.get(k, 0.0) for k, v in after.items() if k != me)
            stored = tracker.count()
            tracker.close()
            print(
                f"  {store:<6} track_batch {events / secs:>8.0f} events/s ({secs:.2f} s), {stored} profiles, {fired} actions fired; "
                f"calling thread busy {caller:.2f} s, other threads {others:.2f} s"
            )


if __name__ == "__main__":
    main()

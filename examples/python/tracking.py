"""journey-core tracking (Python): track a few customers of the example shop, react to
the waypoints they reach or miss with callbacks, and read customer context.

1. An anonymous visitor empties the cart: the ``anonymous_cart_callback`` waypoint is
   reached and a subscriber offers a callback; the visitor leaves a phone number.
2. The same customer calls: the IVR reads their context (keys, phase, recent events
   across channels, interests) and skips the menu.
3. A visitor lingers on a product page: the ``waiting_on_product`` deadline is missed
   (in event time, with ``advance``) and a chat is offered.
4. The outbox: every action waits there until the host acknowledges it.
   The journeys are kept in a SQLite file: reopened, they are still there; the store is
   exported as JSON Lines, a customer is forgotten, and the stored journeys analysed.
5. Live: the same deadline, shortened to one second, missed in real time while the
   tracker's wall clock runs.

Run: python examples/python/tracking.py [directory for the SQLite file]
"""

from __future__ import annotations

import sys
import tempfile
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from journey_core import Analysis, MapDocument, Tracker
from journey_core.types import Action, Event

SHOP = Path(__file__).resolve().parents[1] / "maps" / "shop.json"
T0 = datetime(2025, 1, 6, 9, 0, tzinfo=timezone.utc)


def event(at: datetime, keys: list[str], name: str, channel: str, **properties: Any) -> Event:
    """An event in the tracker's form; ``ts`` may be an aware datetime."""
    e: Event = {"ts": at, "keys": keys, "event": name, "channel": channel}
    if properties:
        e["properties"] = properties
    return e


def when(micros: int) -> str:
    """Microseconds since the epoch (as results carry them) as a readable UTC time."""
    return (datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=micros)).strftime("%H:%M:%S")


def on_action(action: Action) -> None:
    """The host's reaction to a waypoint: here, printed; a real host would call the
    customer, open a chat, send a coupon..."""
    why = action["why"]
    late = f", deadline {when(why['deadline'][1])}" if why["deadline"] else ""
    print(
        f"  -> {action['kind']} for profile {action['profile']}: {action['waypoint']} {action['outcome']} "
        f"at {when(action['ts'])} (because of {why['event']!r}{late}) payload={action['payload']}"
    )


def main() -> int:
    doc = MapDocument.load(SHOP)
    workdir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="journey-core-"))
    db = workdir / "journeys.sqlite"
    db.unlink(missing_ok=True)
    with Tracker(doc, path=db) as tracker:
        tracker.subscribe(on_action)

        print("1. An anonymous cart, revived")
        for minute, name in enumerate(["product_view", "add_to_cart", "remove_from_cart"]):
            tracker.track(event(T0 + timedelta(minutes=minute), ["session:s1"], name, "web"))
        # The visitor accepts the callback and leaves a phone number: both keys are linked.
        tracker.track(event(T0 + timedelta(minutes=3), ["session:s1", "phone:+34600000001"], "callback_requested", "web"))

        print("2. The customer calls: context for the IVR")
        tracker.track(event(T0 + timedelta(minutes=40), ["phone:+34600000001"], "ivr_menu", "ivr"))
        context = tracker.context("phone:+34600000001")
        assert context is not None
        print(f"  keys: {', '.join(context['keys'])} ({context['level']})")
        print(f"  phase: {context['current_phase']}; reached: {', '.join(context['phases_reached'])}")
        print(f"  recent: {' > '.join(e['event'] + '@' + e['channel'] for e in context['recent'])}")
        print(f"  interests: {', '.join(i['what'] for i in context['interests'])}")

        print("3. Waiting too long on a product page (event time)")
        tracker.track(event(T0, ["session:w"], "product_view", "web"))
        tracker.advance(T0 + timedelta(minutes=5))

        print("4. The outbox")
        pending = tracker.pending_actions()
        print(f"  {len(pending)} pending: {', '.join(a['kind'] for a in pending)}")
        for action in pending:
            tracker.ack(action["id"])  # executed by the host
        print(f"  after acknowledging: {len(tracker.pending_actions())} pending")

    print("   The SQLite file, reopened")
    with Tracker(doc, path=db) as reopened:
        journey = reopened.journey("phone:+34600000001")
        print(f"  {len(journey)} events of the caller survived: {', '.join(e['event'] for e in journey)}")
        stats = reopened.export_jsonl(workdir / "journeys.jsonl")
        print(f"  exported {stats['events']} events of {stats['profiles']} profiles as JSON Lines")
        analysis = Analysis.from_tracker(reopened)
        print(f"  analysed: {len(analysis)} journeys, reach of consideration {analysis.reach().phases[1]['journeys']}")
        forgotten = reopened.forget("session:w")
        print(f"  forgotten: {forgotten['events'] if forgotten else 0} events of session:w")

    print("5. Live: a deadline missed in real time")
    data: dict[str, Any] = doc.to_dict()
    for waypoint in data["maps"][0]["waypoints"]:
        if waypoint["id"] == "waiting_on_product":
            waypoint["within"] = "1s"  # two minutes in the shop; one second for the demo
    fired = threading.Event()

    def on_live_action(action: Action) -> None:
        on_action(action)
        fired.set()

    with Tracker(MapDocument.from_dict(data)) as live:
        live.subscribe(on_live_action)
        live.track(event(datetime.now(timezone.utc), ["session:live"], "product_view", "web"))
        live.start_clock(interval_seconds=0.1)
        if not fired.wait(timeout=10):
            print("  the deadline did not fire", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

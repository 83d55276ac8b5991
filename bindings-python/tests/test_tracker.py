"""One test per public method of journey_core.Tracker (and backtest), on the example shop
map (examples/maps/shop.json) and small maps of their own."""

from __future__ import annotations

import gc
import inspect
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

import journey_core
from journey_core import ClosedError, MapDocument, Tracker, backtest
from journey_core.types import Action, Event

REPO = Path(__file__).resolve().parents[2]
MIN = 60_000_000
T0 = 1_736_121_600_000_000  # 2025-01-06T00:00:00Z
T0_DATETIME = datetime(2025, 1, 6, tzinfo=timezone.utc)


def ev(ts: int | datetime, keys: list[str], name: str, channel: str = "web", **extra: Any) -> Event:
    event: Event = {"ts": ts, "keys": keys, "event": name, "channel": channel}
    event.update(extra)  # type: ignore[typeddict-item]
    return event


@pytest.fixture(scope="module")
def shop() -> MapDocument:
    return MapDocument.load(REPO / "examples" / "maps" / "shop.json")


@pytest.fixture
def tracker(shop: MapDocument) -> Iterator[Tracker]:
    with Tracker(shop) as t:
        yield t


def quick_map(within: str) -> MapDocument:
    """A one-phase map whose waypoint ``slow`` is missed ``within`` after a ``view`` with
    no ``buy``."""
    return MapDocument.from_dict(
        {
            "name": "Quick",
            "personas": [{"id": "p", "name": "P"}],
            "maps": [
                {
                    "id": "quick",
                    "name": "Quick",
                    "persona": "p",
                    "phases": [{"id": "look", "name": "Look"}],
                    "touchpoints": [
                        {"id": "view", "name": "View", "phase": "look", "events": ["view"]},
                        {"id": "buy", "name": "Buy", "phase": "look", "events": ["buy"]},
                    ],
                    "waypoints": [
                        {
                            "id": "slow",
                            "name": "Too slow",
                            "trigger": {"touchpoint": "view"},
                            "condition": {"touchpoint": "buy"},
                            "within": within,
                            "on_missed": [{"kind": "chat_offer", "payload": {"message": "Need help?"}}],
                        }
                    ],
                }
            ],
        }
    )


def anonymous_cart(t: Tracker, session: str = "session:s1") -> list[dict[str, Any]]:
    results = [
        t.track(ev(T0, [session], "product_view")),
        t.track(ev(T0 + MIN, [session], "add_to_cart")),
        t.track(ev(T0 + 2 * MIN, [session], "remove_from_cart")),
    ]
    return [dict(r) for r in results]


# ---- construction -------------------------------------------------------------------


def test_constructor_defaults(shop: MapDocument) -> None:
    t = Tracker(shop)
    assert t.map_id == "shop"
    assert t.config == {
        "map": None,
        "identity": {
            "levels": {
                "cookie": "anonymous",
                "customer": "authenticated",
                "device": "anonymous",
                "email": "identified",
                "loyalty": "identified",
                "phone": "identified",
                "session": "anonymous",
                "social": "anonymous",
            },
            "default_level": "anonymous",
            "limits": {"customer": 1},
        },
        "recent_events": 20,
        "interest_properties": ["topic", "product", "category"],
        "limits": {
            "key_len": 256,
            "event_name_len": 256,
            "keys_per_event": 32,
            "properties_per_event": 256,
            "property_name_len": 256,
            "property_value_len": 65536,
            "property_depth": 32,
            "batch_size": 10000,
            "keys_per_profile": 1000,
            "map_phases": 100,
            "map_touchpoints": 2000,
            "map_waypoints": 500,
            "condition_depth": 32,
            "condition_nodes": 1000,
        },
    }
    assert t.clock is None
    assert not t.closed
    assert repr(t) == "Tracker(map='shop')"
    assert t.store == "memory" and t.path is None
    assert str(inspect.signature(Tracker)) == (
        "(doc, *, path=None, postgres=None, durability=None, key_secret=None, hash_kinds=None, read_only=False, max_size=None, "
        "busy_timeout=None, checkpoint_bytes=None, cache_mib=None, schema=None, pool_size=None, connect_timeout=None, "
        "pool_wait=None, attempts=None, fetch_size=None, cache_entries=None, map=None, recent_events=20, interest_properties=None, identity=None, limits=None)"
    )
    t.close()


def test_constructor_options(shop: MapDocument, tmp_path: Path) -> None:
    with Tracker(
        shop,
        map="shop",
        recent_events=2,
        interest_properties=["colour"],
        identity={"limits": {"customer": 1, "email": 1}},
    ) as t:
        assert t.config["map"] == "shop"
        assert t.config["identity"]["limits"] == {"customer": 1, "email": 1}
        assert t.config["identity"]["levels"]["email"] == "identified"  # the default table
        for i, name in enumerate(["product_view", "blog_read", "review_read"]):
            t.track(ev(T0 + i, ["session:o"], name, properties={"colour": "red"}))
        ctx = t.context("session:o")
        assert ctx is not None
        assert [e["event"] for e in ctx["recent"]] == ["blog_read", "review_read"]
        assert "colour=red" in [i["what"] for i in ctx["interests"]]
        t.track(ev(T0, ["email:a@x.com"], "email_open", "email"))
        assert t.link("email:a@x.com", "email:b@x.com", T0) == "refused"


def test_constructor_validates_the_map(shop_dict: dict[str, Any]) -> None:
    shop_dict["maps"][0]["touchpoints"][0]["phase"] = "ghost"
    with pytest.raises(journey_core.ValidationError):
        Tracker(MapDocument.from_dict(shop_dict))


def test_context_manager(shop: MapDocument) -> None:
    with Tracker(shop) as t:
        assert isinstance(t, Tracker)
        assert not t.closed
    assert t.closed
    with pytest.raises(RuntimeError), Tracker(shop) as t2:
        raise RuntimeError("propagates")
    assert t2.closed


# ---- tracking -----------------------------------------------------------------------


def test_track(tracker: Tracker) -> None:
    first = tracker.track(ev(T0, ["session:s1"], "product_view"))
    assert first == {"seq": 0, "profile": 1, "touchpoint": "product_page", "phase": "consideration", "actions": []}
    off_map = tracker.track(ev(T0 + 1, ["session:s1"], "callback_requested"))
    assert (off_map["touchpoint"], off_map["phase"]) == (None, None)
    assert tracker.clock == T0 + 1


def test_track_anonymous_cart_fires_the_callback_offer(tracker: Tracker) -> None:
    removed = anonymous_cart(tracker)[-1]
    [action] = removed["actions"]
    assert action["waypoint"] == "anonymous_cart_callback"
    assert action["outcome"] == "reached"
    assert action["kind"] == "callback_offer"
    assert action["payload"] == {"script": "cart_help"}
    assert action["ts"] == T0 + 2 * MIN
    assert action["profile"] == removed["profile"]
    assert action["why"] == {
        "event_seq": removed["seq"],
        "event": "remove_from_cart",
        "condition": {"all": [{"event": "remove_from_cart"}, {"level": "anonymous"}]},
        "deadline": None,
    }
    assert isinstance(action["id"], str) and action["id"]


def test_track_takes_aware_datetimes(tracker: Tracker) -> None:
    local = timezone(timedelta(hours=2))
    tracker.track(ev(T0_DATETIME, ["session:d"], "product_view"))
    tracker.track(ev(datetime(2025, 1, 6, 2, 0, 0, 1, tzinfo=local), ["session:d"], "review_read"))
    assert [e["ts"] for e in tracker.journey("session:d")] == [T0, T0 + 1]


def test_track_takes_every_rating_form(tracker: Tracker) -> None:
    for i, rating in enumerate(["positive", 0.5, {"csat": 4}, {"nps": 0}, {"score": -0.5}]):
        tracker.track(ev(T0 + i, ["session:r"], "survey", "email", rating=rating))
    ctx = tracker.context("session:r")
    assert ctx is not None
    assert ctx["emotion"]["ratings"] == 5
    assert ctx["emotion"]["lowest"] == -1.0
    assert ctx["emotion"]["last"] == -0.5
    assert ctx["emotion"]["recent"] == [[T0, 1.0], [T0 + 1, 0.5], [T0 + 2, 0.5], [T0 + 3, -1.0], [T0 + 4, -0.5]]
    assert [e["rating"] for e in tracker.journey("session:r")] == ["positive", 0.5, {"csat": 4}, {"nps": 0}, -0.5]


def test_track_department_and_properties(tracker: Tracker) -> None:
    big = tracker.track(
        ev(T0, ["session:big"], "add_to_cart", department="sales", properties={"cart_value": 1500, "items": ["tv"]})
    )
    assert [a["kind"] for a in big["actions"]] == ["route_to_queue"]
    [stored] = tracker.journey("session:big")
    assert stored["department"] == "sales"
    assert stored["properties"] == {"cart_value": 1500, "items": ["tv"]}


def test_track_batch(tracker: Tracker) -> None:
    results = tracker.track_batch(
        ev(T0 + i * MIN, ["session:s1"], name) for i, name in enumerate(["product_view", "add_to_cart", "remove_from_cart"])
    )
    assert [r["seq"] for r in results] == [0, 1, 2]
    assert [len(r["actions"]) for r in results] == [0, 0, 1]
    assert tracker.track_batch([]) == []
    assert len(tracker.track_batch((ev(T0, ["session:t"], "ad_click"),))) == 1


def test_track_batch_reads_subclasses_as_their_base_types(shop: MapDocument) -> None:
    """Events made of subclasses of dict, str, int, list and tuple, and of tuples, are
    stored exactly as the same events made of the plain types (whichever way the binding
    reads them); ``bool`` stays refused as a time."""

    class Text(str):
        pass

    class Micros(int):
        pass

    class Keys(list[str]):
        pass

    class Fields(dict[str, Any]):
        pass

    from collections import OrderedDict
    from enum import IntEnum

    class Start(IntEnum):
        T0 = T0

    plain: list[dict[str, Any]] = [
        {"ts": T0, "keys": ["session:p"], "event": "product_view", "channel": "web"},
        {"ts": T0 + 1, "keys": ["session:p", "email:p@example.com"], "event": "add_to_cart", "channel": "web", "department": "sales"},
        {"ts": T0 + 2, "keys": ["session:p"], "event": "survey", "channel": "email", "rating": {"csat": 4}, "properties": {"a": [1, [2]]}},
        {"ts": T0 + 3, "keys": ["session:p"], "event": "survey", "channel": "hologram", "department": None, "rating": None},
    ]
    fancy: list[Any] = [
        Fields(ts=Start.T0, keys=Keys(["session:p"]), event=Text("product_view"), channel=Text("web")),
        OrderedDict(ts=Micros(T0 + 1), keys=(Text("session:p"), "email:p@example.com"), event="add_to_cart", channel="web", department=Text("sales")),
        {"properties": Fields(a=(Micros(1), Keys([2]))), "rating": OrderedDict(csat=Micros(4)), "channel": "email", "event": "survey", "keys": ("session:p",), "ts": T0 + 2},
        {"rating": None, "ts": datetime(2025, 1, 6, 2, 0, 0, 3, tzinfo=timezone(timedelta(hours=2))), "keys": ["session:p"], "event": "survey", "channel": "hologram", "department": None},
    ]
    journeys = []
    for events in (plain, fancy):
        with Tracker(shop) as t:
            assert [r["seq"] for r in t.track_batch(events)] == [0, 1, 2, 3]
            journeys.append(t.journey("session:p"))
    assert journeys[0] == journeys[1]
    assert [e.get("rating") for e in journeys[1]] == [None, None, {"csat": 4}, None]
    assert [e["ts"] for e in journeys[1]] == [T0, T0 + 1, T0 + 2, T0 + 3]
    with Tracker(shop) as t, pytest.raises(journey_core.BadEventError, match="invalid type: boolean `true`, expected i64"):
        t.track_batch([plain[0], {**plain[0], "ts": True}])


def test_advance(tracker: Tracker) -> None:
    tracker.track(ev(T0, ["session:w"], "product_view"))
    assert tracker.advance(T0 + 2 * MIN) == [], "the deadline edge is inclusive"
    [missed] = tracker.advance(T0 + 2 * MIN + 1)
    assert (missed["waypoint"], missed["outcome"], missed["kind"]) == ("waiting_on_product", "missed", "chat_offer")
    assert missed["ts"] == T0 + 2 * MIN
    assert missed["why"]["deadline"] == [T0, T0 + 2 * MIN]
    assert missed["why"]["condition"] == {"all": [{"touchpoint": "product_page"}, {"channel": "web"}]}
    assert tracker.advance(T0_DATETIME + timedelta(hours=1)) == []
    assert tracker.clock == T0 + 60 * MIN


# ---- reading ------------------------------------------------------------------------


def test_context(tracker: Tracker) -> None:
    assert tracker.context("session:nobody") is None
    anonymous_cart(tracker)
    tracker.track(ev(T0 - 86_400_000_000, ["session:s1"], "email_open", "email"))
    tracker.track(ev(T0 + 3 * MIN, ["session:s1", "phone:+34600000001"], "callback_requested"))
    ctx = tracker.context("phone:+34600000001")
    assert ctx is not None
    assert ctx == tracker.context("session:s1")
    assert ctx["profile"] == 1
    assert ctx["keys"] == ["session:s1", "phone:+34600000001"]
    assert ctx["level"] == "identified"
    assert ctx["persona"] is None
    assert ctx["current_phase"] == "consideration"
    assert ctx["furthest_phase"] == "consideration"
    assert ctx["phases_reached"] == ["awareness", "consideration"]
    assert ctx["events"] == 5
    assert ctx["first_ts"] == T0 - 86_400_000_000
    assert ctx["last_ts"] == T0 + 3 * MIN
    assert [e["event"] for e in ctx["recent"]] == [
        "email_open",
        "product_view",
        "add_to_cart",
        "remove_from_cart",
        "callback_requested",
    ]
    assert ctx["recent"][-1]["keys"] == ["session:s1", "phone:+34600000001"]
    assert ctx["interests"][0] == {"what": "cart", "count": 2, "last_ts": T0 + 2 * MIN}
    assert ctx["emotion"] == {"ratings": 0, "mean": None, "lowest": None, "last": None, "recent": []}
    [deadline] = ctx["open_waypoints"]
    assert deadline == {
        "profile": 1,
        "waypoint": "cart_abandoned",
        "armed_at": T0 + 2 * MIN,
        "due": T0 + 32 * MIN,
        "trigger_seq": 2,
        "trigger_event": "remove_from_cart",
    }
    assert ctx["conflicts"] == []


def test_route(tracker: Tracker) -> None:
    """The shop map's routing rules, first match wins (the same story as the core's
    ``routing_by_phase_and_priority``)."""

    def route(key: str) -> tuple[str, str, str | None, int] | None:
        r = tracker.route(key)
        return None if r is None else (r["rule"], r["queue"], r["department"], r["priority"])

    assert tracker.route("session:nobody") is None
    tracker.track(ev(T0, ["session:r1"], "product_view"))
    assert route("session:r1") == ("default", "sales", "sales", 9)
    tracker.track(ev(T0 + 1, ["session:r1"], "add_to_cart", properties={"cart_value": 1499}))
    assert route("session:r1") == ("big_cart", "premium_sales", "sales", 2)
    tracker.track(ev(T0, ["email:r2@x.com"], "delivered", "email"))
    assert route("email:r2@x.com") == ("after_sales", "customer_care", "support", 5)
    tracker.track(ev(T0 + 1, ["email:r2@x.com"], "support_call", "phone", rating={"csat": 1}))
    assert route("email:r2@x.com") == ("unhappy_after_purchase", "retention", "support", 1)
    with pytest.raises(journey_core.ParseError) as bad:
        tracker.route("no-colon")
    assert bad.value.path == "key"


def test_journey(tracker: Tracker) -> None:
    assert tracker.journey("session:nobody") == []
    tracker.track(ev(T0 + 10, ["session:o"], "checkout_start"))
    tracker.track(ev(T0, ["session:o"], "product_view"))
    journey = tracker.journey("session:o")
    assert [(e["event"], e["seq"], e["ts"]) for e in journey] == [("product_view", 1, T0), ("checkout_start", 0, T0 + 10)]
    assert journey[0] == {"seq": 1, "profile": 1, "ts": T0, "keys": ["session:o"], "event": "product_view", "channel": "web"}


# ---- identity -----------------------------------------------------------------------


def test_link(tracker: Tracker) -> None:
    tracker.track(ev(T0, ["email:a@x.com"], "email_open", "email"))
    tracker.track(ev(T0, ["email:b@x.com"], "email_click", "email"))
    assert tracker.link("email:a@x.com", "phone:+34911111111", T0) == "joined"
    assert tracker.link("email:a@x.com", "email:b@x.com", T0_DATETIME) == "merged"
    assert tracker.link("email:b@x.com", "email:a@x.com", T0) == "already"
    ctx = tracker.context("email:b@x.com")
    assert ctx is not None and ctx["events"] == 2


def test_unlink(tracker: Tracker) -> None:
    tracker.track(ev(T0, ["session:s", "email:a@x.com"], "newsletter_signup"))
    tracker.track(ev(T0 + 3 * MIN, ["email:b@x.com"], "email_click", "email"))
    assert tracker.link("email:a@x.com", "email:b@x.com", T0 + 4 * MIN) == "merged"
    split = tracker.unlink("email:a@x.com", "email:b@x.com", T0 + 5 * MIN)
    assert isinstance(split, int)
    b = tracker.context("email:b@x.com")
    assert b is not None and b["profile"] == split and b["events"] == 1
    # A key linked through another path stays: no split.
    tracker.link("email:c@x.com", "email:d@x.com", T0)
    tracker.link("email:d@x.com", "email:e@x.com", T0)
    tracker.link("email:c@x.com", "email:e@x.com", T0)
    assert tracker.unlink("email:c@x.com", "email:e@x.com", T0) is None


def test_link_log(tracker: Tracker) -> None:
    assert tracker.link_log("email:nobody@x.com") == []
    tracker.track(ev(T0, ["session:s", "email:a@x.com"], "newsletter_signup"))
    tracker.link("email:a@x.com", "email:b@x.com", T0 + MIN)
    tracker.unlink("email:a@x.com", "email:b@x.com", T0 + 2 * MIN)
    log = tracker.link_log("email:a@x.com")
    assert [entry["outcome"] for entry in log] == ["joined", "joined", "removed"]
    assert log[0] == {
        "a": "email:a@x.com",
        "b": "session:s",
        "ts": T0,
        "event_seq": 0,
        "outcome": "joined",
        "absorbed": None,
        "profile": 1,
    }
    assert log[1]["event_seq"] is None


def test_conflicts(tracker: Tracker) -> None:
    assert tracker.conflicts() == []
    tracker.track(ev(T0, ["device:tablet", "customer:0000001"], "account_login", "mobile_app"))
    tracker.track(ev(T0 + MIN, ["device:tablet", "customer:0000002"], "account_login", "mobile_app"))
    [conflict] = tracker.conflicts()
    assert conflict["kind"] == "customer"
    assert conflict["limit"] == 1
    assert conflict["event_seq"] == 1
    assert conflict["ts"] == T0 + MIN
    assert {conflict["key"], conflict["other"]} <= {"device:tablet", "customer:0000001", "customer:0000002"}
    assert conflict["message"]
    ctx = tracker.context("customer:0000002")
    assert ctx is not None and ctx["conflicts"] == [conflict]
    assert tracker.link("customer:0000001", "customer:0000002", T0) == "refused"


# ---- segments -----------------------------------------------------------------------


def test_profiles(tracker: Tracker) -> None:
    tracker.track(ev(T0, ["session:a"], "ad_click", "social"))
    tracker.track(ev(T0, ["session:b"], "ad_click", "social"))
    tracker.track(ev(T0 + MIN, ["session:b"], "order_confirmed"))
    everyone = tracker.profiles()
    assert [p["key"] for p in everyone] == ["session:a", "session:b"]
    assert everyone[1] == {
        "profile": 2,
        "key": "session:b",
        "level": "anonymous",
        "persona": None,
        "current_phase": "purchase",
        "furthest_phase": "purchase",
        "events": 2,
    }
    assert [p["key"] for p in tracker.profiles({"not_reached": "purchase"})] == ["session:a"]
    assert [p["key"] for p in tracker.profiles(not_reached="purchase")] == ["session:a"]
    assert [p["key"] for p in tracker.profiles({"reached": "awareness"}, current_phase="purchase")] == ["session:b"]
    assert tracker.profiles({"level": "identified"}) == []
    assert len(tracker.profiles({"reached": None})) == 2


def test_count(tracker: Tracker) -> None:
    assert tracker.count() == 0
    tracker.track(ev(T0, ["session:a"], "ad_click", "social"))
    tracker.track(ev(T0 + MIN, ["session:b"], "order_confirmed"))
    assert tracker.count() == 2
    assert tracker.count({"reached": "purchase"}) == 1
    assert tracker.count(reached="purchase", level="anonymous") == 1
    assert tracker.count(level="authenticated") == 0


# ---- the outbox ---------------------------------------------------------------------


def test_pending_actions(tracker: Tracker) -> None:
    assert tracker.pending_actions() == []
    anonymous_cart(tracker, "session:a")
    anonymous_cart(tracker, "session:b")
    pending = tracker.pending_actions()
    assert [(a["waypoint"], a["profile"]) for a in pending] == [("anonymous_cart_callback", 1), ("anonymous_cart_callback", 2)]
    assert tracker.pending_actions(limit=1) == pending[:1]
    assert tracker.pending_actions(0) == []


def test_ack(tracker: Tracker) -> None:
    anonymous_cart(tracker)
    [action] = tracker.pending_actions()
    assert tracker.ack(action["id"]) is True
    assert tracker.ack(action["id"]) is False
    assert tracker.ack("no-such-action") is False
    assert tracker.pending_actions() == []


# ---- personas -----------------------------------------------------------------------


def test_assign_persona(tracker: Tracker) -> None:
    tracker.track(ev(T0, ["email:p@x.com"], "product_view"))
    tracker.assign_persona("email:p@x.com", "busy_professional")
    assert tracker.count(persona="busy_professional") == 1
    tracker.assign_persona("email:p@x.com", None)
    ctx = tracker.context("email:p@x.com")
    assert ctx is not None and ctx["persona"] is None


def test_set_attributes(tracker: Tracker) -> None:
    tracker.track(ev(T0, ["email:p@x.com"], "product_view"))
    assert tracker.set_attributes("email:p@x.com", {"children": True}) is None
    assert tracker.set_attributes("email:p@x.com", {"segment": "professional"}) == "busy_professional"
    ctx = tracker.context("email:p@x.com")
    assert ctx is not None and ctx["persona"] == "busy_professional"


# ---- subscribers --------------------------------------------------------------------


def test_subscribe_receives_the_anonymous_cart_callback_offer(tracker: Tracker) -> None:
    seen: list[Action] = []
    threads: list[threading.Thread] = []

    def on_action(action: Action) -> None:
        seen.append(action)
        threads.append(threading.current_thread())

    tracker.subscribe(on_action)
    removed = anonymous_cart(tracker)[-1]
    assert seen == removed["actions"]
    [offer] = seen
    assert (offer["waypoint"], offer["kind"], offer["payload"]) == ("anonymous_cart_callback", "callback_offer", {"script": "cart_help"})
    assert threads == [threading.current_thread()], "called on the thread that tracked"
    # advance and track_batch notify too, in subscription order.
    order: list[str] = []
    tracker.subscribe(lambda a: order.append("second"))
    tracker.advance(T0 + 60 * MIN)
    assert [a["waypoint"] for a in seen[1:]] == ["cart_abandoned"]
    assert order == ["second"]


def test_unsubscribe_stops_the_calls(tracker: Tracker) -> None:
    class Desk:
        def __init__(self) -> None:
            self.seen: list[str] = []

        def on_action(self, action: Action) -> None:
            self.seen.append(action["kind"])

    desk, other = Desk(), []
    tracker.subscribe(desk.on_action)
    tracker.subscribe(other.append)
    anonymous_cart(tracker, "session:u1")
    assert desk.seen == ["callback_offer"] and len(other) == 1
    # A bound method is a new object on every access: it is found by ``==``.
    assert tracker.unsubscribe(desk.on_action) is True
    assert tracker.unsubscribe(desk.on_action) is False
    assert tracker.unsubscribe(print) is False
    anonymous_cart(tracker, "session:u2")
    assert desk.seen == ["callback_offer"], "no call after unsubscribe"
    assert len(other) == 2, "the other subscriber is still called"


def test_subscriber_may_call_the_tracker(tracker: Tracker) -> None:
    phases: list[str | None] = []

    def on_action(action: Action) -> None:
        ctx = tracker.context("session:s1")
        phases.append(ctx["current_phase"] if ctx else None)

    tracker.subscribe(on_action)
    anonymous_cart(tracker)
    assert phases == ["consideration"]


def test_subscriber_exception_is_reported_not_raised(tracker: Tracker, monkeypatch: pytest.MonkeyPatch) -> None:
    reported: list[Any] = []
    monkeypatch.setattr("sys.unraisablehook", reported.append)

    def broken(action: Action) -> None:
        raise RuntimeError("subscriber bug")

    after: list[Action] = []
    tracker.subscribe(broken)
    tracker.subscribe(after.append)
    removed = anonymous_cart(tracker)[-1]  # does not raise
    assert len(removed["actions"]) == 1
    assert len(after) == 1, "later subscribers are still called"
    [report] = reported
    assert report.exc_type is RuntimeError
    assert str(report.exc_value) == "subscriber bug"
    assert report.object is broken
    # The tracker is not poisoned.
    assert tracker.track(ev(T0 + 3 * MIN, ["session:s1"], "product_view"))["seq"] == 3


def test_subscribe_needs_a_callable(tracker: Tracker) -> None:
    with pytest.raises(TypeError, match="callback must be callable, not str"):
        tracker.subscribe("print")  # type: ignore[arg-type]


def test_subscribers_are_called_from_other_threads(tracker: Tracker) -> None:
    seen: list[str] = []
    lock = threading.Lock()

    def on_action(action: Action) -> None:
        with lock:
            seen.append(action["waypoint"])

    tracker.subscribe(on_action)
    workers = [threading.Thread(target=anonymous_cart, args=(tracker, f"session:t{i}")) for i in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert seen == ["anonymous_cart_callback"] * 4


# ---- the wall clock -----------------------------------------------------------------


def test_clock_fires_a_missed_deadline_in_real_time() -> None:
    fired = threading.Event()
    seen: list[tuple[Action, threading.Thread]] = []

    def on_action(action: Action) -> None:
        seen.append((action, threading.current_thread()))
        fired.set()

    with Tracker(quick_map("300ms")) as t:
        t.subscribe(on_action)
        start = time.monotonic()
        t.track(ev(datetime.now(timezone.utc), ["session:live"], "view"))
        t.start_clock(interval_seconds=0.05)
        assert t.clock_running
        assert fired.wait(timeout=10), "the clock did not fire the deadline"
        elapsed = time.monotonic() - start
        assert elapsed >= 0.25, "not before the deadline"
        [(action, thread)] = seen
        assert (action["waypoint"], action["outcome"], action["kind"]) == ("slow", "missed", "chat_offer")
        assert thread is not threading.current_thread(), "called on the clock's thread"
        assert t.pending_actions() == [action]
        t.stop_clock()
        assert not t.clock_running
        t.stop_clock()  # twice: nothing


def test_clock_does_not_fire_what_was_reached() -> None:
    seen: list[Action] = []
    with Tracker(quick_map("200ms")) as t:
        t.subscribe(seen.append)
        now = datetime.now(timezone.utc)
        t.track(ev(now, ["session:a"], "view"))
        t.track(ev(now + timedelta(milliseconds=100), ["session:a"], "buy"))
        t.start_clock(0.05)
        time.sleep(0.5)
    assert seen == []


def test_start_clock_twice_replaces_the_clock() -> None:
    with Tracker(quick_map("1s")) as t:
        t.start_clock(10.0)
        t.start_clock(0.05)
        assert t.clock_running
        t.track(ev(datetime.now(timezone.utc) - timedelta(seconds=5), ["session:a"], "view"))
        deadline = time.monotonic() + 5
        while not t.pending_actions() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [a["waypoint"] for a in t.pending_actions()] == ["slow"]


def test_start_clock_rejects_bad_intervals(tracker: Tracker) -> None:
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="interval_seconds"):
            tracker.start_clock(bad)
    assert not tracker.clock_running


def test_close_from_a_subscriber_on_the_clock_thread() -> None:
    closed = threading.Event()
    t = Tracker(quick_map("100ms"))

    def on_action(action: Action) -> None:
        t.close()
        closed.set()

    t.subscribe(on_action)
    t.track(ev(datetime.now(timezone.utc), ["session:a"], "view"))
    t.start_clock(0.02)
    assert closed.wait(timeout=10)
    assert t.closed
    assert not t.clock_running


def test_a_tracker_dropped_with_its_clock_running() -> None:
    t = Tracker(quick_map("50ms"))
    t.subscribe(lambda a: time.sleep(0.01))
    t.track(ev(datetime.now(timezone.utc), ["session:a"], "view"))
    t.start_clock(0.01)
    time.sleep(0.1)
    del t
    gc.collect()


# ---- closing ------------------------------------------------------------------------


def test_close(shop: MapDocument) -> None:
    t = Tracker(shop)
    t.subscribe(lambda a: None)
    t.start_clock(0.05)
    t.close()
    assert t.closed
    assert not t.clock_running
    assert repr(t) == "Tracker(map='shop', closed)"
    assert t.map_id == "shop"
    t.close()  # twice: nothing
    t.stop_clock()


def test_every_method_of_a_closed_tracker_raises_closed_error(shop: MapDocument) -> None:
    t = Tracker(shop)
    t.close()
    calls: list[Any] = [
        lambda: t.track(ev(T0, ["session:a"], "x")),
        lambda: t.track_batch([]),
        lambda: t.advance(T0),
        lambda: t.context("session:a"),
        lambda: t.route("session:a"),
        lambda: t.checkpoint(),
        lambda: t.check(),
        lambda: t.journey("session:a"),
        lambda: t.link("session:a", "email:a@x.com", T0),
        lambda: t.unlink("session:a", "email:a@x.com", T0),
        lambda: t.link_log("session:a"),
        lambda: t.conflicts(),
        lambda: t.profiles(),
        lambda: t.count(),
        lambda: t.pending_actions(),
        lambda: t.ack("x"),
        lambda: t.assign_persona("session:a", None),
        lambda: t.set_attributes("session:a", {}),
        lambda: t.subscribe(print),
        lambda: t.unsubscribe(print),
        lambda: t.start_clock(),
        lambda: t.clock,
        lambda: t.config,
    ]
    for call in calls:
        with pytest.raises(ClosedError) as info:
            call()
        assert info.value.what == "tracker"
        assert str(info.value) == "the tracker is closed"


# ---- backtest -----------------------------------------------------------------------


def synthetic_log() -> list[Event]:
    log: list[Event] = []
    for i in range(200):
        name = ["product_view", "add_to_cart", "remove_from_cart", "checkout_start", "survey"][i % 5]
        event = ev(T0 + i * 7 * MIN // 3, [f"session:b{i % 17}"], name)
        if name == "survey":
            event["properties"] = {"csat": i % 5}
        if i % 23 == 0:
            event["keys"].append(f"customer:{i % 3:07}")
        log.append(event)
    return log


def test_backtest_fires_exactly_what_live_tracking_fires(shop: MapDocument) -> None:
    log = synthetic_log()
    end = T0 + 10_000 * MIN
    replayed = backtest(shop, log, until=end)
    live: list[Action] = []
    with Tracker(shop) as t:
        t.subscribe(live.append)
        for event in log:
            t.track(event)
        t.advance(end)
    assert replayed
    assert replayed == live
    assert {a["outcome"] for a in replayed} == {"reached", "missed"}


def test_backtest_options(shop: MapDocument) -> None:
    view = [ev(T0, ["session:w"], "product_view")]
    assert backtest(shop, iter(view)) == []
    [missed] = backtest(shop, view, T0_DATETIME + timedelta(minutes=3))
    assert (missed["waypoint"], missed["outcome"]) == ("waiting_on_product", "missed")
    assert backtest(shop, view, until=T0 + 2 * MIN) == []
    log = synthetic_log()
    options = {"map": "shop", "recent_events": 1, "interest_properties": [], "identity": {}}
    assert backtest(shop, log, **options) == backtest(shop, log)  # type: ignore[arg-type]
    assert backtest(shop, []) == []


def test_docstrings_come_from_rust() -> None:
    assert "Raises:" in (Tracker.__doc__ or "")
    public = [name for name in dir(Tracker) if not name.startswith("_")] + ["__enter__", "__exit__"]
    assert len(public) > 20
    for name in public:
        assert getattr(Tracker, name).__doc__, name
    assert "Raises:" in (backtest.__doc__ or "")


def test_types_module_describes_the_results(tracker: Tracker) -> None:
    from journey_core import types

    for name in types.__all__:
        assert hasattr(types, name), name
    anonymous_cart(tracker)
    ctx = tracker.context("session:s1")
    assert ctx is not None
    assert set(ctx) == set(types.Context.__annotations__)
    [action] = tracker.pending_actions()
    assert set(action) == set(types.Action.__annotations__)
    assert set(action["why"]) == set(types.Explanation.__annotations__)
    assert set(ctx["open_waypoints"][0]) == set(types.Deadline.__annotations__)
    assert set(ctx["interests"][0]) == set(types.Interest.__annotations__)
    assert set(ctx["emotion"]) == set(types.EmotionTrend.__annotations__)
    assert set(ctx["recent"][0]) <= set(types.TrackedEvent.__annotations__)
    assert set(tracker.profiles()[0]) == set(types.ProfileSummary.__annotations__)
    assert set(tracker.config) == set(types.TrackerConfig.__annotations__)
    assert set(tracker.config["identity"]) == set(types.IdentityRules.__annotations__)
    tracker.track(ev(T0, ["device:d", "customer:0000001"], "account_login"))
    tracker.track(ev(T0, ["device:d", "customer:0000002"], "account_login"))
    assert set(tracker.conflicts()[0]) == set(types.Conflict.__annotations__)
    assert set(tracker.link_log("device:d")[0]) == set(types.LinkEntry.__annotations__)
    assert set(tracker.track(ev(T0, ["session:s1"], "x"))) == set(types.Tracked.__annotations__)

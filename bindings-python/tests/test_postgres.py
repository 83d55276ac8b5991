"""The tracker on a PostgreSQL server: journeys kept across trackers, two trackers sharing
one schema (customers, deadlines fired once), forget, retention and keyed hashing, JSON
Lines export and import, analytics from the tracker, and the bad options.

The server is ``JOURNEY_CORE_PG_URL`` (``scripts/postgres.sh start`` prints one;
``tests/run`` and ``bindings-python/scripts/test.sh`` start one). Without it these tests
fail, unless ``JOURNEY_CORE_SKIP_POSTGRES=1`` (then they are skipped). Each test works in
its own fresh schema, ``jc_py_<random hex>``, dropped at the end.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import journey_core as jc
from journey_core import _native
from journey_core.types import Action, Event

REPO = Path(__file__).resolve().parents[2]
SHOP = REPO / "examples" / "maps" / "shop.json"
T0 = 1_736_154_000_000_000  # 2025-01-06 09:00 UTC
MIN = 60_000_000
# Nothing listens on port 1 of the loopback: a server that cannot be reached.
CLOSED = "postgres://journey:sekrit-pw@127.0.0.1:1/postgres"


@pytest.fixture(scope="module")
def doc() -> jc.MapDocument:
    return jc.MapDocument.load(SHOP)


@pytest.fixture(scope="module")
def url() -> str:
    """The server's URL, or a failure saying how to get one (a skip only on request)."""
    value = os.environ.get("JOURNEY_CORE_PG_URL", "").strip()
    if value:
        return value
    if os.environ.get("JOURNEY_CORE_SKIP_POSTGRES") == "1":
        pytest.skip("PostgreSQL tests skipped: JOURNEY_CORE_SKIP_POSTGRES=1")
    pytest.fail(
        "JOURNEY_CORE_PG_URL is not set: start a throw-away server with `export JOURNEY_CORE_PG_URL=$(bash scripts/postgres.sh start)` "
        "(or point it at an existing server; bindings-python/scripts/test.sh starts one itself), "
        "or set JOURNEY_CORE_SKIP_POSTGRES=1 to skip the PostgreSQL tests"
    )


def drop(url: str, schema: str) -> None:
    # The hook exists in the wheels the tests build (debug or `testing` feature).
    dropper = getattr(_native, "_drop_postgres_schema", None)
    if dropper is not None:
        dropper(url, schema)


@pytest.fixture
def schema(url: str) -> Iterator[str]:
    """A fresh schema name, dropped with its tables after the test."""
    name = f"jc_py_{secrets.token_hex(6)}"
    yield name
    drop(url, name)


@pytest.fixture
def other_schema(url: str) -> Iterator[str]:
    name = f"jc_py_{secrets.token_hex(6)}"
    yield name
    drop(url, name)


def ev(minute: int, keys: list[str], name: str, channel: str = "web") -> Event:
    return {"ts": T0 + minute * MIN, "keys": keys, "event": name, "channel": channel}


def shop_events() -> list[Event]:
    """Three customers: one empties the cart anonymously, one buys, one leaves a cart."""
    return [
        ev(0, ["session:a"], "product_view"),
        ev(1, ["session:a"], "add_to_cart"),
        ev(2, ["session:a"], "remove_from_cart"),
        ev(3, ["session:a", "email:ana@example.com"], "newsletter_signup"),
        ev(5, ["session:b"], "product_view"),
        ev(6, ["session:b"], "add_to_cart"),
        ev(7, ["session:b", "customer:42"], "checkout_start"),
        ev(9, ["customer:42"], "order_confirmed"),
        ev(10, ["session:c"], "product_view", "app"),
        ev(11, ["session:c"], "add_to_cart", "app"),
    ]


def test_journeys_survive_the_tracker(doc: jc.MapDocument, url: str, schema: str) -> None:
    fired: list[Action] = []
    with jc.Tracker(doc, postgres=url, schema=schema, pool_size=2) as t:
        assert t.store == "postgres" and t.path is None
        assert repr(t) == "Tracker(map='shop', store='postgres')"
        t.subscribe(fired.append)
        t.track_batch(shop_events()[:3])
        t.track(shop_events()[3])
        before = t.context("email:ana@example.com")
        journey = t.journey("session:a")
    assert [a["kind"] for a in fired] == ["callback_offer"]
    assert before is not None
    with jc.Tracker(doc, postgres=url, schema=schema) as t:
        assert t.context("email:ana@example.com") == before
        assert t.context("session:a") == before
        assert t.journey("email:ana@example.com") == journey
        assert [e["event"] for e in journey] == ["product_view", "add_to_cart", "remove_from_cart", "newsletter_signup"]
        assert [a["kind"] for a in t.pending_actions()] == ["callback_offer"]
        assert t.ack(t.pending_actions()[0]["id"])
    with jc.Tracker(doc, postgres=url, schema=schema) as t:
        assert t.pending_actions() == []


def test_two_trackers_share_customers_and_fire_a_deadline_once(doc: jc.MapDocument, url: str, schema: str) -> None:
    events = shop_events()
    due = T0 + 60 * MIN  # after every 30-minute deadline armed by the events
    with jc.Tracker(doc, postgres=url, schema=schema) as a, jc.Tracker(doc, postgres=url, schema=schema) as b:
        a.track_batch(events[:4])
        b.track_batch(events[4:])
        # Each sees the customers the other tracked.
        ctx = b.context("email:ana@example.com")
        assert ctx is not None and "session:a" in ctx["keys"]
        ctx = a.context("customer:42")
        assert ctx is not None and "session:b" in ctx["keys"]
        assert a.profiles() == b.profiles() and a.count() == 3
        fired = b.advance(due) + a.advance(due)
        assert a.advance(due + MIN) == [] and b.advance(due + MIN) == []
        pending_a, pending_b = a.pending_actions(), b.pending_actions()
    # The same as one memory tracker fed the events in the same order.
    with jc.Tracker(doc) as memory:
        memory.track_batch(events)
        expected = memory.advance(due)
        expected_pending = memory.pending_actions()
    assert expected, "the events arm deadlines that are due"
    by_id = lambda act: act["id"]  # noqa: E731
    assert sorted(fired, key=by_id) == sorted(expected, key=by_id), "each due deadline fires once across both trackers"
    assert len({act["id"] for act in fired}) == len(fired)
    assert pending_a == pending_b
    assert sorted(pending_a, key=by_id) == sorted(expected_pending, key=by_id)


def test_forget_retention_and_hashed_keys(doc: jc.MapDocument, url: str, schema: str, tmp_path: Path) -> None:
    with jc.Tracker(doc, postgres=url, schema=schema, key_secret=b"a secret of sixteen+ bytes", hash_kinds=["email"]) as t:
        t.track(ev(0, ["session:a", "email:ana@example.com"], "product_view"))
        t.track(ev(1, ["session:a"], "add_to_cart"))
        t.track(ev(60, ["session:b"], "product_view"))
        ctx = t.context("email:ana@example.com")
        assert ctx is not None and "session:a" in ctx["keys"]
        assert not any("ana@example.com" in k for k in ctx["keys"])
        out = tmp_path / "hashed.jsonl"
        t.export_jsonl(out)
        assert "ana@example.com" not in out.read_text(encoding="utf-8")
    # Without the secret, the stored hash does not match the raw e-mail.
    with jc.Tracker(doc, postgres=url, schema=schema) as plain:
        assert plain.context("email:ana@example.com") is None
        assert plain.context("session:a") is not None
    with jc.Tracker(doc, postgres=url, schema=schema, key_secret=b"a secret of sixteen+ bytes", hash_kinds=["email"]) as t:
        forgotten = t.forget("email:ana@example.com")
        assert forgotten is not None and forgotten["events"] == 2
        assert t.context("session:a") is None and t.forget("session:a") is None
        t.track(ev(120, ["session:b"], "add_to_cart"))
        assert t.delete_before(T0 + 100 * MIN) == 1
        assert [e["event"] for e in t.journey("session:b")] == ["add_to_cart"]
        with pytest.raises(jc.ParseError):
            t.forget("no-kind")


def test_export_and_import_jsonl(doc: jc.MapDocument, url: str, schema: str, other_schema: str, tmp_path: Path) -> None:
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    with jc.Tracker(doc, postgres=url, schema=schema) as t:
        t.track_batch(shop_events())
        t.link("session:c", "email:cy@example.com", T0 + 20 * MIN)
        t.advance(T0 + 60 * MIN)
        stats = t.export_jsonl(first)
        journeys = {k: t.journey(k) for k in ("email:ana@example.com", "customer:42", "email:cy@example.com")}
        pending = t.pending_actions()
    assert stats["events"] == 10 and stats["profiles"] == 3 and stats["links"] >= 1 and stats["actions"] >= 1
    with jc.Tracker(doc, postgres=url, schema=other_schema) as t:
        assert t.import_jsonl(first) == stats
        with pytest.raises(jc.ConflictError, match="empty store"):
            t.import_jsonl(first)
    with jc.Tracker(doc, postgres=url, schema=other_schema) as t:
        assert {k: t.journey(k) for k in journeys} == journeys
        assert t.pending_actions() == pending
        assert t.export_jsonl(second) == stats
    assert second.read_text(encoding="utf-8") == first.read_text(encoding="utf-8")
    # The same file moves the store to SQLite and back unchanged.
    with jc.Tracker(doc, path=tmp_path / "j.sqlite") as t:
        assert t.import_jsonl(first) == stats
    with jc.Tracker(doc, path=tmp_path / "j.sqlite") as t:
        assert {k: t.journey(k) for k in journeys} == journeys


def test_analytics_from_the_tracker_equal_a_memory_trackers(doc: jc.MapDocument, url: str, schema: str) -> None:
    events = shop_events()
    with jc.Tracker(doc, postgres=url, schema=schema) as pg, jc.Tracker(doc) as memory:
        for t in (pg, memory):
            t.track_batch(events[:6])
            t.link("session:c", "email:cy@example.com", T0 + 8 * MIN)
            t.track_batch(events[6:])
            t.set_attributes("customer:42", {"segment": "vip"})
        a, b = jc.Analysis.from_tracker(pg), jc.Analysis.from_tracker(memory)
    assert a.num_events == b.num_events == len(events)
    funnel = ["product_view", "add_to_cart", "checkout_start", "order_confirmed"]
    measures: dict[str, Callable[[jc.Analysis], jc.AnalysisResult]] = {
        "stitch": lambda x: x.stitch_summary(),
        "reach": lambda x: x.reach(),
        "funnel": lambda x: x.funnel(funnel),
        "funnel by channel": lambda x: x.funnel(funnel, by="channel"),
        "transitions": lambda x: x.transitions(),
        "paths": lambda x: x.paths(),
        "emotion": lambda x: x.emotion(),
        "conformance": lambda x: x.conformance(),
    }
    for name, measure in measures.items():
        got, want = measure(a).to_json(), measure(b).to_json()
        assert got == want, name
    assert json.loads(a.funnel(funnel).to_json()), "the funnel is not empty"
    assert a.profile_of("session:b") == b.profile_of("session:b")


def test_closed_tracker_refuses_the_store_methods(doc: jc.MapDocument, url: str, schema: str, tmp_path: Path) -> None:
    t = jc.Tracker(doc, postgres=url, schema=schema)
    t.close()
    assert repr(t) == "Tracker(map='shop', store='postgres', closed)"
    for call in (lambda: t.forget("session:a"), lambda: t.delete_before(0), lambda: t.export_jsonl(tmp_path / "x"), lambda: jc.Analysis.from_tracker(t)):
        with pytest.raises(jc.ClosedError):
            call()


# The bad options: none of these needs a server.


def test_options_of_the_other_store_are_refused_by_name(doc: jc.MapDocument, tmp_path: Path) -> None:
    db = tmp_path / "j.sqlite"
    with pytest.raises(ValueError, match="give either path .* or postgres .*, not both"):
        jc.Tracker(doc, path=db, postgres=CLOSED)
    with pytest.raises(ValueError, match="schema applies only to a PostgreSQL store"):
        jc.Tracker(doc, schema="journeys")
    with pytest.raises(ValueError, match="pool_size applies only to a PostgreSQL store"):
        jc.Tracker(doc, path=db, pool_size=2)
    with pytest.raises(ValueError, match="connect_timeout applies only to a PostgreSQL store"):
        jc.Tracker(doc, connect_timeout=1.0)
    with pytest.raises(ValueError, match="durability applies only to a SQLite file"):
        jc.Tracker(doc, postgres=CLOSED, durability="os")
    with pytest.raises(ValueError, match="read_only applies only to a SQLite file"):
        jc.Tracker(doc, postgres=CLOSED, read_only=True)
    with pytest.raises(ValueError, match="key_secret is 0 bytes long"):
        jc.Tracker(doc, postgres=CLOSED, key_secret=b"")
    with pytest.raises(ValueError, match="hash_kinds needs key_secret"):
        jc.Tracker(doc, postgres=CLOSED, hash_kinds=["email"])
    with pytest.raises(ValueError, match="connect_timeout must be a positive"):
        jc.Tracker(doc, postgres=CLOSED, connect_timeout=0)
    with pytest.raises(ValueError, match="connect_timeout must be a positive"):
        jc.Tracker(doc, postgres=CLOSED, connect_timeout=float("nan"))
    assert not db.exists(), "a refused tracker creates nothing"


def test_tuning_options_reach_the_store(doc: jc.MapDocument, url: str, schema: str, tmp_path: Path) -> None:
    """``pool_wait``, ``attempts``, ``fetch_size`` (a scan of 10 events 3 rows at a time)
    and ``cache_entries`` (0: every write reads from the server) give the same journeys."""
    with jc.Tracker(doc, postgres=url, schema=schema, pool_wait=2.5, attempts=2, fetch_size=3, cache_entries=0) as t:
        t.track_batch(shop_events())
        t.track(ev(12, ["session:c"], "checkout_start", "app"))
        assert [e["event"] for e in t.journey("session:c")] == ["product_view", "add_to_cart", "checkout_start"]
        stats = t.export_jsonl(tmp_path / "all.jsonl")
        assert stats["events"] == 11
        assert jc.Analysis.from_tracker(t).num_events == 11
    for option, value, message in [
        ("pool_wait", 0.0, "pool_wait must be a positive"),
        ("attempts", 0, "attempts must be at least 1"),
        ("fetch_size", 0, "fetch_size must be between 1 and 2147483647, not 0"),
        ("fetch_size", 2**31, "fetch_size must be between 1 and 2147483647"),
    ]:
        with pytest.raises(ValueError, match=message):
            jc.Tracker(doc, postgres=CLOSED, **{option: value})  # type: ignore[arg-type]
    for option in ["pool_wait", "attempts", "fetch_size", "cache_entries"]:
        with pytest.raises(ValueError, match=f"{option} applies only to a PostgreSQL store"):
            jc.Tracker(doc, **{option: 1})  # type: ignore[arg-type]


def test_bad_values_get_the_cores_errors_naming_them(doc: jc.MapDocument) -> None:
    for bad in ["Journeys", "1st", "", "pg_catalog", "a-b", 'x"; DROP TABLE y; --', "x" * 64]:
        with pytest.raises(jc.ParseError, match="schema: .* is not a valid schema name"):
            jc.Tracker(doc, postgres=CLOSED, schema=bad)
    with pytest.raises(ValueError, match="pool_size must be at least 1"):
        jc.Tracker(doc, postgres=CLOSED, pool_size=0)
    with pytest.raises(OverflowError, match="pool_size"):
        jc.Tracker(doc, postgres=CLOSED, pool_size=-1)
    with pytest.raises(TypeError, match="pool_size"):
        jc.Tracker(doc, postgres=CLOSED, pool_size="4")  # type: ignore[arg-type]
    with pytest.raises(jc.ParseError, match="url: not a PostgreSQL connection URL"):
        jc.Tracker(doc, postgres="postgres://user@host:notaport/db")
    with pytest.raises(TypeError, match="postgres"):
        jc.Tracker(doc, postgres=5432)  # type: ignore[arg-type]


def test_an_unreachable_server_is_named_without_its_password(doc: jc.MapDocument) -> None:
    # The interpreter is released while the store connects: another thread keeps running.
    ticks = 0
    done = threading.Event()

    def tick() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            time.sleep(0.005)

    thread = threading.Thread(target=tick)
    thread.start()
    started = time.monotonic()
    try:
        with pytest.raises(jc.StorageError) as info:
            jc.Tracker(doc, postgres=CLOSED, schema="jc_py_unreachable", connect_timeout=2)
    finally:
        done.set()
        thread.join()
    elapsed = time.monotonic() - started
    message = str(info.value)
    assert "127.0.0.1:1/postgres" in message and "schema jc_py_unreachable" in message, message
    assert "connecting to the server" in message and "gave up after" in message, message
    assert "sekrit-pw" not in message and "sekrit-pw" not in repr(info.value)
    assert info.value.kind == "storage"
    assert elapsed < 20, f"took {elapsed:.1f} s"
    assert ticks >= 10, f"another thread ran only {ticks} times in {elapsed:.2f} s while connecting"

"""The tracker on a SQLite file: durability across reopening, privacy (forget, keyed
hashing), retention, JSON Lines export and import, read-only opening, subscribers, an
analysis of the stored journeys, and the storage errors."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import pytest

import journey_core as jc
from journey_core.types import Action, Event

REPO = Path(__file__).resolve().parents[2]
SHOP = REPO / "examples" / "maps" / "shop.json"
T0 = 1_736_154_000_000_000  # 2025-01-06 09:00 UTC


@pytest.fixture(scope="module")
def doc() -> jc.MapDocument:
    return jc.MapDocument.load(SHOP)


def ev(minute: int, keys: list[str], name: str, channel: str = "web") -> Event:
    return {"ts": T0 + minute * 60_000_000, "keys": keys, "event": name, "channel": channel}


def test_journeys_survive_reopening(doc: jc.MapDocument, tmp_path: Path) -> None:
    db = tmp_path / "j.sqlite"
    fired: list[Action] = []
    with jc.Tracker(doc, path=db) as t:
        assert t.path == str(db) and t.store == "sqlite"
        assert repr(t) == "Tracker(map='shop', store='sqlite')"
        t.subscribe(fired.append)
        t.track_batch([ev(0, ["session:a"], "product_view"), ev(1, ["session:a"], "add_to_cart"), ev(2, ["session:a"], "remove_from_cart")])
        t.track(ev(3, ["session:a", "email:ana@example.com"], "newsletter_signup"))
    assert [a["kind"] for a in fired] == ["callback_offer"]
    with jc.Tracker(doc, path=db, durability="os") as t:
        journey = t.journey("email:ana@example.com")
        assert [e["event"] for e in journey] == ["product_view", "add_to_cart", "remove_from_cart", "newsletter_signup"]
        assert [a["kind"] for a in t.pending_actions()] == ["callback_offer"]
        a = jc.Analysis.from_tracker(t)
        assert len(a) == 1 and a.num_events == 4
        assert a.profile_of("session:a") == "email:ana@example.com"
    assert jc.Tracker(doc).path is None


def test_one_writer_per_file_and_read_only(doc: jc.MapDocument, tmp_path: Path) -> None:
    db = tmp_path / "j.sqlite"
    with jc.Tracker(doc, path=db) as t:
        t.track(ev(0, ["session:a"], "product_view"))
        with pytest.raises(jc.StorageError):
            jc.Tracker(doc, path=db)
        with jc.Tracker(doc, path=db, read_only=True) as reader:
            assert len(reader.journey("session:a")) == 1
            with pytest.raises(jc.StorageError):
                reader.track(ev(1, ["session:a"], "add_to_cart"))


def test_sqlite_tuning_options(doc: jc.MapDocument, tmp_path: Path) -> None:
    """``max_size``, ``busy_timeout``, ``checkpoint_bytes`` and ``cache_mib`` reach the
    SQLite store: a batch that would grow the file past ``max_size`` is refused whole, and
    what was stored before stays."""
    db = tmp_path / "small.sqlite"
    with jc.Tracker(doc, path=db, max_size=64 * 1024, busy_timeout=0.5, checkpoint_bytes=4096, cache_mib=2) as t:
        t.track(ev(0, ["session:kept"], "product_view"))
        big: list[Event] = [
            {**ev(i, [f"session:{i}"], "product_view"), "properties": {"note": "x" * 500}} for i in range(500)
        ]
        with pytest.raises(jc.StorageError, match="size limit|full"):
            t.track_batch(big)
        assert t.count() == 1
        assert [e["event"] for e in t.journey("session:kept")] == ["product_view"]
    with jc.Tracker(doc, path=db, busy_timeout=0) as t:
        assert t.count() == 1


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_size": 0}, "max_size must be positive"),
        ({"checkpoint_bytes": 0}, "checkpoint_bytes must be positive"),
        ({"cache_mib": 0}, "cache_mib must be positive"),
        ({"busy_timeout": -1.0}, "busy_timeout must be a finite number of seconds, 0 or more, not -1"),
        ({"busy_timeout": float("nan")}, "busy_timeout must be"),
    ],
)
def test_sqlite_tuning_options_refuse_bad_values(doc: jc.MapDocument, tmp_path: Path, options: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        jc.Tracker(doc, path=tmp_path / "x.sqlite", **options)  # type: ignore[arg-type]
    assert not (tmp_path / "x.sqlite").exists()


@pytest.mark.parametrize("option", ["max_size", "busy_timeout", "checkpoint_bytes", "cache_mib"])
def test_sqlite_tuning_options_need_a_file(doc: jc.MapDocument, option: str) -> None:
    with pytest.raises(ValueError, match=f"{option} applies only to a SQLite file: it needs path"):
        jc.Tracker(doc, **{option: 1})  # type: ignore[arg-type]


def test_checkpoint_makes_the_tables_current_for_other_tools_and_check_reports(doc: jc.MapDocument, tmp_path: Path) -> None:
    db = tmp_path / "shared.sqlite"

    def keys_on_file() -> int:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as other:
            (n,) = other.execute("SELECT count(*) FROM keys").fetchone()
            return int(n)

    with jc.Tracker(doc, path=db, checkpoint_bytes=1 << 30) as t:
        t.track(ev(0, ["session:a", "email:ana@example.com"], "product_view"))
        assert keys_on_file() == 0, "in the journal until a checkpoint"
        t.checkpoint()
        assert keys_on_file() == 2
        assert t.check() == {"profiles": 1, "events": 1, "keys": 2, "problems": []}
    with jc.Tracker(doc) as memory:
        memory.checkpoint()
        assert memory.check() is None


def test_forget_and_retention(doc: jc.MapDocument, tmp_path: Path) -> None:
    with jc.Tracker(doc, path=tmp_path / "j.sqlite") as t:
        t.track(ev(0, ["session:a"], "product_view"))
        t.track(ev(1, ["session:a", "email:x@y"], "add_to_cart"))
        t.track(ev(60, ["session:b"], "product_view"))
        forgotten = t.forget("email:x@y")
        assert forgotten is not None
        assert forgotten["events"] == 2 and sorted(forgotten["keys"]) == ["email:x@y", "session:a"]
        assert t.context("session:a") is None
        assert t.forget("session:nobody") is None
        t.track(ev(120, ["session:b"], "add_to_cart"))
        assert t.delete_before(datetime.fromtimestamp((T0 + 100 * 60_000_000) / 1e6, tz=timezone.utc)) == 1
        assert [e["event"] for e in t.journey("session:b")] == ["add_to_cart"]
        with pytest.raises(ValueError, match="naive"):
            t.delete_before(datetime(2025, 1, 1))
        with pytest.raises(jc.ParseError):
            t.forget("no-kind")


def test_keyed_hashing(doc: jc.MapDocument, tmp_path: Path) -> None:
    db = tmp_path / "j.sqlite"
    with jc.Tracker(doc, path=db, key_secret=b"a secret of sixteen+ bytes", hash_kinds=["email"]) as t:
        t.track(ev(0, ["session:a", "email:ana@example.com"], "product_view"))
        keys = t.context("email:ana@example.com")
        assert keys is not None
        assert "session:a" in keys["keys"]
        assert not any("ana@example.com" in k for k in keys["keys"])
    assert b"ana@example.com" not in db.read_bytes()
    with pytest.raises(ValueError, match="key_secret is 0 bytes long; use at least 16 random bytes"):
        jc.Tracker(doc, path=tmp_path / "k.sqlite", key_secret=b"")
    with pytest.raises(ValueError, match="key_secret is 15 bytes long"):
        jc.Tracker(doc, path=tmp_path / "k.sqlite", key_secret=b"x" * 15)
    with pytest.raises(ValueError, match="hash_kinds needs key_secret"):
        jc.Tracker(doc, path=tmp_path / "k.sqlite", hash_kinds=["email"])
    with pytest.raises(ValueError, match="key_secret needs a store"):
        jc.Tracker(doc, key_secret=b"x" * 16)
    with pytest.raises(ValueError, match="read_only applies only to a SQLite file: it needs path"):
        jc.Tracker(doc, read_only=True)
    with pytest.raises(ValueError, match="durability must be"):
        jc.Tracker(doc, path=tmp_path / "k.sqlite", durability="disk")  # type: ignore[arg-type]


def test_export_and_import_jsonl(doc: jc.MapDocument, tmp_path: Path) -> None:
    out = tmp_path / "store.jsonl"
    with jc.Tracker(doc, path=tmp_path / "a.sqlite") as t:
        t.track(ev(0, ["session:a"], "product_view"))
        t.track(ev(1, ["session:a"], "add_to_cart"))
        t.link("session:a", "email:x@y", T0 + 120_000_000)
        stats = t.export_jsonl(out)
    assert stats["events"] == 2 and stats["profiles"] == 1 and stats["links"] >= 1
    with jc.Tracker(doc, path=tmp_path / "b.sqlite") as t:
        assert t.import_jsonl(out) == stats
        with pytest.raises(jc.ConflictError, match="empty store"):
            t.import_jsonl(out)  # not empty any more
    with jc.Tracker(doc, path=tmp_path / "b.sqlite") as t:
        assert [e["event"] for e in t.journey("email:x@y")] == ["product_view", "add_to_cart"]
    with jc.Tracker(doc) as t:
        with pytest.raises(jc.JourneyIOError):
            t.import_jsonl(tmp_path / "missing.jsonl")
        bad = tmp_path / "bad.jsonl"
        bad.write_text('{"type":"nonsense"}\n')
        with pytest.raises(jc.JourneyError):
            t.import_jsonl(bad)
        with pytest.raises(jc.JourneyIOError):
            t.export_jsonl(tmp_path / "no" / "such" / "dir.jsonl")


def test_closed_tracker_refuses_the_store_methods(doc: jc.MapDocument, tmp_path: Path) -> None:
    t = jc.Tracker(doc, path=tmp_path / "j.sqlite")
    t.close()
    for call in (lambda: t.forget("session:a"), lambda: t.delete_before(0), lambda: t.export_jsonl(tmp_path / "x"), lambda: jc.Analysis.from_tracker(t)):
        with pytest.raises(jc.ClosedError):
            call()
    # closed releases the file: another tracker can write it
    with jc.Tracker(doc, path=tmp_path / "j.sqlite"):
        pass


def test_not_a_database(doc: jc.MapDocument, tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a SQLite database, not at all" * 100)
    with pytest.raises(jc.StorageError):
        jc.Tracker(doc, path=junk)
    with pytest.raises((jc.JourneyIOError, jc.StorageError)):
        jc.Tracker(doc, path=tmp_path / "no" / "such" / "dir" / "j.sqlite")

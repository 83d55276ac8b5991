"""Analytics from Python: every source (pyarrow, polars, pandas, Parquet, CSV, a tracker,
event dicts), the column mapping, every measure, results as tables, and the bad inputs.

The measures on the benchmark kit's small data set must equal its expected outputs
(journey-core/tests/data/bench-small/expected, the DuckDB reference's files) byte for
byte, as they do in Rust (journey-core/tests/analytics_bench_small.rs).
"""

from __future__ import annotations

import json
import signal
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

import journey_core as jc

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pd = pytest.importorskip("pandas")
pl = pytest.importorskip("polars")

REPO = Path(__file__).resolve().parents[2]
SMALL = REPO / "journey-core" / "tests" / "data" / "bench-small"
EXAMPLES = REPO / "examples"
FUNNEL = ["product_view", "add_to_cart", "checkout_start", "payment", "order_confirmed"]


@pytest.fixture(scope="module")
def design() -> jc.MapDocument:
    return jc.from_bench_design((SMALL / "design.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def small(design: jc.MapDocument) -> jc.Analysis:
    """The small set from Parquet, stitched without limits (the benchmark's Decision 2)."""
    return jc.Analysis.from_parquet(design, SMALL / "events.parquet", links=SMALL / "links.parquet", identity_limits=False)


def expected(name: str) -> str:
    return (SMALL / "expected" / f"{name}.json").read_text(encoding="utf-8")


def bench_results(a: jc.Analysis) -> dict[str, jc.AnalysisResult]:
    return {
        "reach": a.reach(),
        "funnel": a.funnel(FUNNEL),
        "transitions": a.transitions(),
        "paths": a.paths(),
        "emotion": a.emotion(),
        "gray_areas": a.gray_areas(),
        "conformance": a.conformance(),
        "key_moments": a.key_moments(outcome="touchpoint:order_confirmation"),
    }


def test_bench_small_equals_the_expected_outputs(small: jc.Analysis) -> None:
    assert small.num_events == 20_000
    for name, result in bench_results(small).items():
        assert result.to_json() == expected(name), name
    want = json.loads(expected("stitch"))
    got = small.stitch_summary()
    for field in ("journeys", "keys", "profiles", "largest_profile_keys"):
        assert getattr(got, field) == want[field], field
    for key, canonical in want["profile_of"].items():
        assert small.profile_of(key) == canonical, key


@pytest.mark.parametrize("source", ["pyarrow", "polars", "pandas", "record_batches", "csv"])
def test_every_source_gives_the_same_results(design: jc.MapDocument, small: jc.Analysis, source: str) -> None:
    table = pq.read_table(SMALL / "events.parquet")
    links = pq.read_table(SMALL / "links.parquet")
    kwargs: dict[str, Any] = {"identity_limits": False}
    if source == "pyarrow":
        a = jc.Analysis.from_arrow(design, table, links=links, **kwargs)
    elif source == "polars":
        a = jc.Analysis.from_arrow(design, pl.from_arrow(table), links=pl.from_arrow(links), **kwargs)
    elif source == "pandas":
        a = jc.Analysis.from_arrow(design, table.to_pandas(), links=links.to_pandas(), **kwargs)
    elif source == "record_batches":
        reader = pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=1000))
        a = jc.Analysis.from_arrow(design, reader, links=links, **kwargs)
    else:
        a = jc.Analysis.from_csv(design, SMALL / "events.csv", links=SMALL / "links.csv", **kwargs)
    for name, result in bench_results(a).items():
        assert result.to_json() == expected(name), (source, name)
    assert len(a) == len(small)


def test_mapping_renames_and_kinds(design: jc.MapDocument, small: jc.Analysis) -> None:
    df = pq.read_table(SMALL / "events.parquet").to_pandas()
    kinds = df["customer_key"].str.split(":", n=1)
    renamed = pd.DataFrame(
        {
            "time": pd.to_datetime(df["ts"], unit="us", utc=True),
            "order": df["seq"],
            "kind": kinds.str[0],
            "who": kinds.str[1],
            "name": df["event"].astype("category"),
            "via": df["channel"],
            "team": df["department"],
            "stars": df["csat"],
        }
    )
    # one key column per kind: plain values, the kind given by the mapping
    key_kinds = sorted(renamed["kind"].unique())
    for k in key_kinds:
        renamed[f"key_{k}"] = renamed["who"].where(renamed["kind"] == k)
    mapping: jc.types.ColumnMapping = {
        "ts": "time",
        "seq": "order",
        "keys": [{"column": f"key_{k}", "kind": k} for k in key_kinds],
        "event": "name",
        "channel": "via",
        "department": "team",
        "rating": {"column": "stars", "scale": "csat"},
    }
    a = jc.Analysis.from_arrow(design, renamed.drop(columns=["kind", "who"]), links=pq.read_table(SMALL / "links.parquet"), mapping=mapping, identity_limits=False)
    for name, result in bench_results(a).items():
        assert result.to_json() == expected(name), name
    assert a.properties == []


def test_several_key_columns_link_their_keys(design: jc.MapDocument) -> None:
    t = pa.table(
        {
            "ts": [1, 2, 3],
            "session": ["s1", "s2", None],
            "email": [None, "ana@x", "ana@x"],
            "event": ["product_view", "add_to_cart", "order_confirmed"],
            "channel": ["web", "web", "email"],
            "coupon": ["A", None, "B"],
        }
    )
    mapping: jc.types.ColumnMapping = {"keys": [{"column": "session", "kind": "session"}, {"column": "email", "kind": "email"}]}
    a = jc.Analysis.from_arrow(design, t, mapping=mapping)
    # row 2 carries session:s2 and email:ana@x: one profile with row 3
    assert a.profile_of("email:ana@x") == a.profile_of("session:s2") == "email:ana@x"
    assert a.profile_of("session:s1") == "session:s1"
    assert len(a) == 2
    assert a.properties == ["coupon"]
    by = a.funnel(["product_view", "add_to_cart"], by="property:coupon")
    # only journeys that entered the funnel have a step-1 event, hence a group
    assert [(g["value"], g["journeys"]) for g in by.groups] == [("A", 1)]


def test_mapping_errors_name_the_column(design: jc.MapDocument) -> None:
    t = pa.table({"time": [1], "customer_key": ["session:a"], "event": ["x"], "channel": ["web"]})
    with pytest.raises(jc.BadEventError) as e:
        jc.Analysis.from_arrow(design, t)
    assert e.value.field == "ts" and "the default of mapping.ts" in str(e.value)
    with pytest.raises(jc.BadEventError) as e:
        jc.Analysis.from_arrow(design, t, mapping={"ts": "nope"})
    assert e.value.field == "nope" and "mapping.ts" in str(e.value)
    with pytest.raises(jc.BadEventError) as e:
        jc.Analysis.from_arrow(design, t, mapping={"ts": "event"})
    assert e.value.field == "event" and "expected an integer or timestamp column" in str(e.value)
    with pytest.raises(jc.BadEventError) as e:
        jc.Analysis.from_arrow(design, t, mapping={"ts": "time", "keys": [{"column": "customer_key", "kind": "Bad Kind"}]})
    assert "mapping.keys[0].kind" in str(e.value)
    with pytest.raises(jc.ParseError) as pe:
        jc.Analysis.from_arrow(design, t, mapping={"ts": "time", "tss": "x"})  # type: ignore[typeddict-unknown-key]
    assert pe.value.path == "mapping.tss"
    with pytest.raises(jc.ParseError) as pe:
        jc.Analysis.from_arrow(design, t, mapping={"rating": {"column": "x", "scale": "stars"}})  # type: ignore[typeddict-item]
    assert pe.value.path.startswith("mapping.rating")
    # a null key, reported under the user's column name
    t2 = pa.table({"time": [1, 2], "user": ["session:a", None], "event": ["x", "y"], "channel": ["web", "web"]})
    with pytest.raises(jc.BadEventError) as e:
        jc.Analysis.from_arrow(design, t2, mapping={"ts": "time", "keys": ["user"]})
    assert e.value.field == "user" and "must not be null" in str(e.value)
    with pytest.raises(jc.BadEventError) as e:
        jc.Analysis.from_arrow(design, t2, mapping={"ts": "time", "keys": [{"column": "user", "kind": "session"}, {"column": "user", "kind": "email"}]})
    assert e.value.index == 1 and "every identity-key column is null" in str(e.value)
    bad_csat = pa.table({"ts": [1], "customer_key": ["session:a"], "event": ["x"], "channel": ["web"], "csat": [9]})
    with pytest.raises(jc.BadEventError):
        jc.Analysis.from_arrow(design, bad_csat)


def test_bad_sources(design: jc.MapDocument, tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="events must be Arrow data"):
        jc.Analysis.from_arrow(design, [1, 2, 3])
    with pytest.raises(jc.JourneyIOError):
        jc.Analysis.from_parquet(design, tmp_path / "missing.parquet")
    not_parquet = tmp_path / "x.parquet"
    not_parquet.write_text("not parquet")
    with pytest.raises(jc.StorageError):
        jc.Analysis.from_parquet(design, not_parquet)
    bad_csv = tmp_path / "e.csv"
    bad_csv.write_text("ts,key,event,channel\nx,session:a,v,web\n")
    with pytest.raises(jc.ParseError, match="line 2"):
        jc.Analysis.from_csv(design, bad_csv)
    with pytest.raises(jc.NotFoundError):
        jc.Analysis.from_parquet(design, SMALL / "events.parquet", map="nope")
    with pytest.raises(jc.BadEventError) as e:
        jc.Analysis.from_events(design, [{"ts": 1, "keys": ["bad key"], "event": "x", "channel": "web"}])
    assert e.value.index == 0


def test_measure_options_and_bad_arguments(small: jc.Analysis) -> None:
    f = small.funnel([["product_view", "search"], "add_to_cart"], window=timedelta(days=1), strict_order=True)
    assert f.options["window_us"] == 86_400_000_000 and f.options["strict_order"] is True
    assert f.options["steps"] == [["product_view", "search"], ["add_to_cart"]]
    assert small.funnel(["product_view", "add_to_cart"], window=None).options["window_us"] is None
    now = datetime(2025, 3, 1, tzinfo=timezone.utc)
    assert small.funnel(["product_view"], now=now).options["now_us"] == int(now.timestamp()) * 1_000_000
    phases = small.funnel(["awareness", "consideration"], match="phase", exclusions=["service"], histogram_edges=[60_000_000])
    assert phases.options["steps_match"] == "phase"
    assert small.paths(level="phase", k=3, top=5).options["k"] == 3
    assert small.transitions(["phase"]).to_dict().keys() == {"options", "phase"}
    assert small.emotion(min_count=5).options["min_count"] == 5
    assert small.gray_areas(emotion_window=2).options["emotion_window"] == 2
    assert small.key_moments(min_count=10).options["min_count"] == 10
    h = small.hypotheses(emotion_tolerance=0.5, min_events=10, key_moment_outcome="phase:purchase")
    with pytest.raises(jc.NotFoundError):
        small.funnel(["awareness"], match="phase", exclusions=["refund"])
    assert h.options["emotion_tolerance"] == 0.5 and "assumption" in str(h).lower()
    with pytest.raises(ValueError, match="match must be"):
        small.funnel(["a"], match="nope")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not a str"):
        small.funnel("product_view")
    with pytest.raises(TypeError, match="window must be"):
        small.funnel(["a"], window="1d")  # type: ignore[arg-type]
    with pytest.raises(jc.ParseError) as pe:
        small.funnel([])
    assert pe.value.path == "steps"
    with pytest.raises(ValueError, match="by must be"):
        small.funnel(["a"], by="colour")
    with pytest.raises(ValueError, match="outcome must be"):
        small.key_moments(outcome="order_confirmation")
    with pytest.raises(ValueError, match="level must be"):
        small.paths(level="step")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="unknown threshold"):
        small.hypotheses(emotion_tolerence=0.5)
    with pytest.raises(TypeError, match="must be a number"):
        small.hypotheses(emotion_tolerance="high")


def test_every_measure_has_tables(small: jc.Analysis) -> None:
    results = [
        small.stitch_summary(),
        small.reach(),
        small.reach_by_persona(),
        small.funnel(FUNNEL),
        small.funnel(FUNNEL, by="channel"),
        small.funnel(FUNNEL, by="persona"),
        small.funnel(FUNNEL, by="first_touchpoint"),
        small.transitions(),
        small.paths(),
        small.emotion(),
        small.emotion_by_persona(),
        small.gray_areas(),
        small.conformance(),
        small.key_moments(outcome="touchpoint:order_confirmation"),
        small.hypotheses(),
        small.report(),
    ]
    for r in results:
        assert r.tables, r.kind
        assert r.table.name == next(iter(r.tables))
        assert r.table.num_rows == len(r.table)
        assert "options" in r.table.metadata
        assert "<table>" in r._repr_html_()
        assert r.kind in repr(r)
        assert set(r.to_dict()) <= set(dir(r))
    report = results[-1]
    assert "funnel" in str(report).lower() and report.kind == "report"
    with pytest.raises(AttributeError, match="no field"):
        _ = results[0].no_such_field


def test_tables_convert_with_their_types(small: jc.Analysis) -> None:
    t = small.journey_table()
    assert t.name == "journeys" and t.num_rows == len(small)
    arrow = t.to_arrow()
    assert arrow.schema.field("first_ts").type == pa.timestamp("us", tz="UTC")
    assert arrow.schema.field("duration").type == pa.duration("us")
    assert arrow.schema.metadata[b"table"] == b"journeys"
    assert pa.table(t).equals(arrow)  # the PyCapsule stream, directly
    # zero copy: every conversion hands out the same Rust buffers
    again = t.to_arrow()
    for name in ("events", "first_ts", "duration", "profile"):
        assert arrow.column(name).chunk(0).buffers()[1].address == again.column(name).chunk(0).buffers()[1].address, name
    df = t.to_pandas()
    assert str(df["first_ts"].dtype) == "datetime64[us, UTC]"
    assert str(df["duration"].dtype) == "timedelta64[us]"
    assert len(df) == len(small)
    p = t.to_polars()
    assert p.schema["first_ts"] == pl.Datetime("us", "UTC") and p.schema["duration"] == pl.Duration("us")
    assert pl.DataFrame(t).equals(p)
    assert (df["duration"] >= pd.Timedelta(0)).all()
    assert "<td>" in t._repr_html_() and "journeys" in repr(t)
    f = small.funnel(FUNNEL)
    steps = f.to_pandas()
    assert list(steps["journeys"]) == [s["journeys"] for s in f.steps]
    assert f.to_polars().height == len(FUNNEL)
    assert f.to_arrow().num_rows == len(FUNNEL)
    assert t.to_text(max_rows=2).count("\n") == 4


def test_personas_and_attributes(design: jc.MapDocument) -> None:
    events = [
        {"ts": 1, "keys": ["session:a"], "event": "product_view", "channel": "web"},
        {"ts": 2, "keys": ["session:a"], "event": "add_to_cart", "channel": "web"},
        {"ts": 3, "keys": ["session:b"], "event": "product_view", "channel": "web"},
    ]
    a = jc.Analysis.from_events(design, events, links=[{"a": "session:b", "b": "email:x@y", "ts": 4}])
    assert a.profile_of("email:x@y") == "email:x@y"
    a.set_attributes({"session:a": {"tier": "gold"}})
    by = a.funnel(["product_view", "add_to_cart"], by="attribute:tier")
    assert [g["value"] for g in by.groups] == ["gold", None]
    persona = design.to_dict()["personas"][0]["id"]
    a.assign_personas({"session:a": persona})
    groups = a.reach_by_persona().personas
    assert [g["persona"] for g in groups][0] == persona
    with pytest.raises(TypeError, match="must be a dict"):
        a.set_attributes({"session:a": 1})  # type: ignore[dict-item]
    assert "Analysis(" in repr(a) and a.map_id == design.map_ids[0]


def test_progress_bar(design: jc.MapDocument, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("tqdm")
    table = pq.read_table(SMALL / "events.parquet")
    jc.Analysis.from_arrow(design, table, progress=True)
    assert "journey_core: reading" in capsys.readouterr().err


def test_interrupt_while_reading(design: jc.MapDocument) -> None:
    """A signal delivered while Rust reads and stitches surfaces as its exception (Ctrl-C:
    KeyboardInterrupt) and no analysis is returned."""
    table = pq.read_table(SMALL / "events.parquet")
    big = pa.concat_tables([table] * 20).combine_chunks().to_batches(max_chunksize=500)
    reader = pa.RecordBatchReader.from_batches(table.schema, big)

    class Interrupted(Exception):
        pass

    def handler(signum: int, frame: object) -> None:
        raise Interrupted

    old = signal.signal(signal.SIGALRM, handler)
    result = None
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.005)
        with pytest.raises(Interrupted):
            result = jc.Analysis.from_arrow(design, reader)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert result is None


def test_walkthrough_data_and_shop_map() -> None:
    doc = jc.MapDocument.load(EXAMPLES / "maps" / "shop.json")
    df = pd.read_csv(EXAMPLES / "data" / "events.csv")
    a = jc.Analysis.from_arrow(doc, df, links=pd.read_csv(EXAMPLES / "data" / "links.csv"))
    assert a.num_events == len(df)
    assert a.reach().journeys == len(a)

"""Stitching in Spark gives every key the profile journey-core's stitching gives it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import expected
from journey_core.spark import attach_profiles, stitch


def test_profiles_equal_the_reference_stitching(spark: Any, data: Path) -> None:
    events = spark.read.parquet(str(data / "events.parquet"))
    links = spark.read.parquet(str(data / "links.parquet"))
    result = stitch(events, links)
    got = {r.key: r.profile for r in result.profiles.collect()}
    assert got == expected("stitch")["profile_of"]
    assert 1 <= result.rounds <= 10


def test_long_chain_converges_and_takes_the_smallest_key(spark: Any) -> None:
    # A path k00 - k01 - ... - k39 given in shuffled order, plus a separate pair.
    chain = [(f"k:{i:02d}", f"k:{i + 1:02d}") for i in range(39)]
    chain = chain[::2] + chain[1::2]
    links = spark.createDataFrame(chain + [("z:b", "z:a")], "key_a string, key_b string")
    events = spark.createDataFrame([("k:39", 1), ("z:b", 2), ("alone:x", 3)], "customer_key string, ts long")
    result = stitch(events, links)
    got = {r.key: r.profile for r in result.profiles.collect()}
    assert got == {**{f"k:{i:02d}": "k:00" for i in range(40)}, "z:a": "z:a", "z:b": "z:a", "alone:x": "alone:x"}
    # Pointer jumping: far fewer rounds than the chain's length.
    assert result.rounds < 15


def test_rows_with_several_keys_link_them(spark: Any) -> None:
    events = spark.createDataFrame(
        [("session:1", None, 1), ("session:2", "email:a", 2), ("session:1", "email:a", 3), ("session:3", None, 4)],
        "session string, email string, ts long",
    )
    result = stitch(events, key_columns=["session", "email"])
    got = {r.key: r.profile for r in result.profiles.collect()}
    assert got == {"session:1": "email:a", "session:2": "email:a", "email:a": "email:a", "session:3": "session:3"}
    joined = attach_profiles(events, result, key_column="session").orderBy("ts").collect()
    assert [r.profile for r in joined] == ["email:a", "email:a", "email:a", "session:3"]


def test_no_key_columns_is_refused(spark: Any) -> None:
    events = spark.createDataFrame([("session:1", 1)], "customer_key string, ts long")
    with pytest.raises(ValueError, match="key_columns"):
        stitch(events, key_columns=[])


def test_max_rounds_is_a_clear_error(spark: Any) -> None:
    links = spark.createDataFrame([(f"k:{i:02d}", f"k:{i + 1:02d}") for i in range(30)], "key_a string, key_b string")
    events = spark.createDataFrame([("k:00", 1)], "customer_key string, ts long")
    with pytest.raises(RuntimeError, match="max_rounds=1"):
        stitch(events, links, max_rounds=1)

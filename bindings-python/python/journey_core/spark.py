"""Journey analytics on Apache Spark: Spark distributes, journey-core computes.

``pip install journey-core[spark]`` adds PySpark. The pipeline:

1. :func:`stitch` finds the profile of every identity key: the connected components of
   the key graph (links, and rows carrying several keys), by iterative min-label
   propagation with pointer jumping, checkpointed every round so the plan never grows.
   A profile is named after its smallest key (byte-wise), as journey-core's own
   stitching without identity limits names it.
2. :func:`attach_profiles` adds a ``profile`` column to the events.
3. :func:`analyse` repartitions the events by profile, sorts each partition by
   (profile, ts, seq), and hands every partition to journey-core through Arrow
   (``mapInArrow``): each partition yields one partial state (bytes) per measure set;
   the driver merges them and finishes into the same result objects as a local
   :class:`journey_core.Analysis`.

The executors need only the journey-core wheel (and PySpark's own pyarrow).

Cost on a real cluster (see the README's "Spark" section for measured figures):
stitching shuffles the edge list once per round, and the number of rounds grows with
the logarithm of the components' diameter thanks to pointer jumping (identity graphs are
shallow: a session, a device, an e-mail, a customer id); the analysis shuffles every
event once (repartition by profile) and sends one partial state per partition to the
driver.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:  # pragma: no cover - typing only
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["StitchResult", "stitch", "attach_profiles"]


def _functions() -> Any:
    try:
        from pyspark.sql import functions
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "journey_core.spark needs PySpark: pip install 'journey-core[spark]'"
        ) from e
    return functions


@dataclass(frozen=True)
class StitchResult:
    """The profile of every identity key, as computed by :func:`stitch`.

    Attributes:
        linked: a DataFrame ``(key string, profile string)`` over the keys that have at
            least one link (the only keys label propagation needs); ``profile`` is the
            smallest key of the key's connected component.
        keys: a DataFrame ``(key string)`` of every distinct key (events and links).
        rounds: label-propagation rounds until no label changed (the last round changes
            nothing).
    """

    linked: "DataFrame"
    keys: "DataFrame"
    rounds: int

    @property
    def profiles(self) -> "DataFrame":
        """``(key, profile)`` for every distinct key: a key without links is its own profile."""
        F = _functions()
        return (
            self.keys.join(self.linked, "key", "left")
            .select("key", F.coalesce(F.col("profile"), F.col("key")).alias("profile"))
        )


def _checkpoint(df: "DataFrame", reliable: bool) -> "DataFrame":
    """Cuts the lineage of ``df``: a reliable checkpoint when the session has a checkpoint
    directory (and ``reliable`` is asked), else a local one."""
    if reliable:
        return df.checkpoint(eager=True)
    return df.localCheckpoint(eager=True)


def _edges(
    events: "DataFrame",
    links: "DataFrame | None",
    key_columns: Sequence[str],
    link_columns: tuple[str, str],
) -> tuple["DataFrame", "DataFrame"]:
    """The distinct keys and the undirected edges (both directions, no self-loops)."""
    F = _functions()
    keys = None
    pairs = None
    for col in key_columns:
        k = events.select(F.col(col).cast("string").alias("key")).where(F.col("key").isNotNull())
        keys = k if keys is None else keys.unionByName(k)
    if len(key_columns) > 1:
        # A row carrying several keys links its first non-null key to every other one.
        first = F.coalesce(*[F.col(c).cast("string") for c in key_columns])
        for col in key_columns:
            p = events.select(first.alias("src"), F.col(col).cast("string").alias("dst"))
            pairs = p if pairs is None else pairs.unionByName(p)
    if links is not None:
        a, b = link_columns
        la = links.select(F.col(a).cast("string").alias("src"), F.col(b).cast("string").alias("dst"))
        pairs = la if pairs is None else pairs.unionByName(la)
        assert keys is not None
        keys = keys.unionByName(la.select(F.col("src").alias("key"))).unionByName(
            la.select(F.col("dst").alias("key"))
        )
    if keys is None:
        raise ValueError("stitch: key_columns is empty: name at least one identity-key column")
    keys = keys.where(F.col("key").isNotNull()).distinct()
    if pairs is None:
        edges = keys.sparkSession.createDataFrame([], "src string, dst string")
    else:
        pairs = pairs.where(F.col("src").isNotNull() & F.col("dst").isNotNull() & (F.col("src") != F.col("dst")))
        edges = pairs.unionByName(pairs.select(F.col("dst").alias("src"), F.col("src").alias("dst"))).distinct()
    return keys, edges


def stitch(
    events: "DataFrame",
    links: "DataFrame | None" = None,
    *,
    key_columns: Sequence[str] = ("customer_key",),
    link_columns: tuple[str, str] = ("key_a", "key_b"),
    max_rounds: int = 64,
    reliable_checkpoints: bool | None = None,
) -> StitchResult:
    """Connected components of the identity-key graph, with Spark DataFrame operations.

    Args:
        events: the events; ``key_columns`` name their identity-key columns (``kind:value``
            strings). A row with several keys links them.
        links: optional identity links, two key columns named by ``link_columns``
            (their time, if any, is ignored: every link is applied).
        key_columns: the events' key columns.
        link_columns: the links' two key columns.
        max_rounds: the most label-propagation rounds; more raises ``RuntimeError``
            (a component deeper than 2**max_rounds cannot happen with pointer jumping).
        reliable_checkpoints: checkpoint every round to the session's checkpoint
            directory (fault-tolerant) instead of locally; default: when the session has
            a checkpoint directory.

    Returns:
        A :class:`StitchResult`: every key's profile (its component's smallest key) and
        the number of rounds it took.
    """
    F = _functions()
    spark = events.sparkSession
    if reliable_checkpoints is None:
        reliable_checkpoints = spark.sparkContext.getCheckpointDir() is not None
    keys, edges = _edges(events, links, key_columns, link_columns)
    edges = _checkpoint(edges, reliable_checkpoints)
    # Only keys with a link take part: every other key is its own profile.
    vertices = edges.select(F.col("src").alias("key")).distinct()
    labels = _checkpoint(vertices.select("key", F.col("key").alias("label")), reliable_checkpoints)
    for rounds in range(1, max_rounds + 1):
        # 1. Every key takes the smallest label among itself and its neighbours.
        offered = edges.join(labels, edges.src == labels.key).select(F.col("dst").alias("key"), "label")
        spread = labels.unionByName(offered).groupBy("key").agg(F.min("label").alias("label"))
        # 2. Pointer jumping: a key takes its label's label when smaller.
        hop = spread.select(F.col("key").alias("hop_key"), F.col("label").alias("hop_label"))
        jumped = (
            spread.join(hop, spread.label == hop.hop_key, "left")
            .select("key", F.least(F.col("label"), F.coalesce(F.col("hop_label"), F.col("label"))).alias("label"))
        )
        jumped = _checkpoint(jumped, reliable_checkpoints)
        changed = (
            jumped.alias("n")
            .join(labels.alias("o"), "key")
            .where(F.col("n.label") != F.col("o.label"))
            .limit(1)
            .count()
        )
        labels = jumped
        if changed == 0:
            return StitchResult(linked=labels.withColumnRenamed("label", "profile"), keys=keys, rounds=rounds)
    raise RuntimeError(f"stitch: labels still changing after max_rounds={max_rounds} rounds")


def attach_profiles(
    events: "DataFrame",
    stitched: StitchResult,
    *,
    key_column: str = "customer_key",
) -> "DataFrame":
    """The events with a ``profile`` column: the profile of their key ``key_column``
    (the key itself when it has no link)."""
    F = _functions()
    p = stitched.linked.select(F.col("key").alias("__jc_key"), F.col("profile").alias("__jc_profile"))
    key = F.col(key_column).cast("string")
    return (
        events.join(p, key == F.col("__jc_key"), "left")
        .withColumn("profile", F.coalesce(F.col("__jc_profile"), key))
        .drop("__jc_key", "__jc_profile")
    )


def local_session(cores: int = 2, app_name: str = "journey-core") -> "SparkSession":
    """A local Spark session (``local[cores]``) with Arrow enabled, for notebooks and tests."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("journey_core.spark needs PySpark: pip install 'journey-core[spark]'") from e
    return (
        SparkSession.builder.master(f"local[{cores}]")
        .appName(app_name)
        .config("spark.sql.shuffle.partitions", str(max(2, cores * 2)))
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )

"""Journey analytics on Apache Spark: Spark distributes, journey-core computes.

The ``spark`` extra (``pip install './bindings-python[spark]'`` from a clone) adds PySpark. The pipeline:

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

import importlib
import json
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

# PySpark is optional and ships no type information: its objects are typed as Any here.
DataFrame = Any
SparkSession = Any

__all__ = ["StitchResult", "stitch", "attach_profiles", "partials", "analyse", "local_session"]


def _import(module: str) -> Any:
    """Imports an optional module, saying which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(f"journey_core.spark needs {module.split('.')[0]} (the package's spark extra): pip install pyspark pyarrow") from e


def _functions() -> Any:
    return _import("pyspark.sql.functions")


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


def _partials_of_partition(doc_json: str, mapping: Any, measures_json: str) -> Any:
    """The function each executor runs on one partition (``mapInArrow``): every batch of
    the partition into one journey-core partial state, yielded as one row of bytes."""

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        pa = _import("pyarrow")
        from journey_core import Analysis, MapDocument

        parts = [b for b in batches if b.num_rows > 0]
        if not parts:
            return
        doc = MapDocument.from_json(doc_json)
        analysis = Analysis.from_arrow(doc, pa.Table.from_batches(parts), mapping=mapping)
        state = analysis.partials(measures_json)
        yield pa.RecordBatch.from_pydict({"partial": [state.to_bytes()]}, schema=pa.schema([("partial", pa.binary())]))

    return run


def _merge_bytes(a: bytes, b: bytes) -> bytes:
    from journey_core import Partials

    merged = Partials.from_bytes(a)
    merged.merge(Partials.from_bytes(b))
    return bytes(merged.to_bytes())


def partials(
    doc: Any,
    events: "DataFrame",
    measures: dict[str, Any],
    *,
    stitched: StitchResult | None = None,
    links: "DataFrame | None" = None,
    mapping: dict[str, Any] | None = None,
    partitions: int | None = None,
) -> Any:
    """The merged partial state of ``measures`` over ``events``, computed on the cluster.

    Args:
        doc: the :class:`journey_core.MapDocument`.
        events: the events, columns as ``mapping`` names them (journey-core's default
            names: ``ts``, ``seq``, ``customer_key``, ``event``, ``channel``,
            ``department``, ``csat``).
        measures: which measures, with their options, as journey-core's ``PartialOptions``
            (a dict: ``{"reach": True, "funnels": [{"steps": [["view"], ["buy"]], ...}], ...}``;
            see :func:`journey_core.Partials.from_arrow`).
        stitched: the profiles of the keys (:func:`stitch`); computed from ``events`` and
            ``links`` when not given.
        links: identity links (``key_a``, ``key_b``), when ``stitched`` is not given.
        mapping: journey-core's column mapping of ``events``.
        partitions: how many partitions to split the journeys into (default: Spark's
            ``spark.sql.shuffle.partitions``).

    Returns:
        a :class:`journey_core.Partials`: ``finish()`` gives the results.
    """
    F = _functions()
    from journey_core import Partials

    mapping = dict(mapping or {})
    keys = mapping.get("keys", "customer_key")
    if isinstance(keys, list) and len(keys) == 1:
        keys = keys[0]
    if not isinstance(keys, str):
        raise ValueError(
            "partials: mapping['keys'] must name one column of 'kind:value' keys on Spark "
            f"(rows carrying several keys: stitch() them first and pass stitched=), not {keys!r}"
        )
    key_column = keys
    ts_column = str(mapping.get("ts", "ts"))
    seq_column = str(mapping.get("seq", "seq"))
    if stitched is None:
        stitched = stitch(events, links, key_columns=[key_column])
    if seq_column not in events.columns:
        # The arrival order must be global: number the rows before any shuffle.
        events = events.withColumn(seq_column, F.monotonically_increasing_id())
    mapping["seq"] = seq_column
    mapping["keys"] = [key_column]
    measures = json.loads(json.dumps(measures))
    funnels = measures.get("funnels") or []
    breakdowns = measures.get("funnel_breakdowns") or []
    if any(f.get("now_us") is None for f in funnels) or any(b["funnel"].get("now_us") is None for b in breakdowns):
        # `now` is the last ts of the whole data: one cheap aggregate instead of large states.
        ts = F.col(ts_column)
        if dict(events.dtypes).get(ts_column, "").startswith("timestamp"):
            ts = F.unix_micros(ts)
        now = events.agg(F.max(ts.cast("long"))).first()[0]
        for f in funnels + [b["funnel"] for b in breakdowns]:
            if f.get("now_us") is None:
                f["now_us"] = int(now) if now is not None else None
    # The profile replaces the key: journey-core then does no stitching of its own.
    profiled = attach_profiles(events, stitched, key_column=key_column).drop(key_column).withColumnRenamed("profile", key_column)
    n = partitions or int(events.sparkSession.conf.get("spark.sql.shuffle.partitions") or 200)
    ordered = profiled.repartition(n, key_column).sortWithinPartitions(key_column, ts_column, seq_column)
    run = _partials_of_partition(doc.to_json(), mapping, json.dumps(measures))
    states = ordered.mapInArrow(run, "partial binary").rdd.map(lambda row: bytes(row.partial))
    if states.isEmpty():
        raise ValueError("partials: events is empty: there is nothing to analyse")
    return Partials.from_bytes(states.treeReduce(_merge_bytes))


def analyse(
    doc: Any,
    events: "DataFrame",
    measures: dict[str, Any],
    **kwargs: Any,
) -> Any:
    """:func:`partials`, finished: the same results as a local analysis of the same data
    (``journey_core.Analysis``), measure by measure (``results.funnels[0]``, ``results.reach``...)."""
    return partials(doc, events, measures, **kwargs).finish()


def local_session(cores: int = 2, app_name: str = "journey-core") -> "SparkSession":
    """A local Spark session (``local[cores]``) with Arrow enabled, for notebooks and tests."""
    return (
        _import("pyspark.sql").SparkSession.builder.master(f"local[{cores}]")
        .appName(app_name)
        .config("spark.sql.shuffle.partitions", str(max(2, cores * 2)))
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )

"""Design, track and validate customer journeys.

A team writes down the journey it designs (personas, ordered phases, touchpoints with
their channel, owner, planned emotion and key moments, and waypoints) as a map document;
journey-core validates it, saves it and draws it::

    import journey_core

    doc = journey_core.MapDocument.load("shop.json")
    doc.validate()                      # raises ValidationError listing every problem
    print(doc.to_mermaid())             # the first map as a Mermaid journey diagram

and tracks real interactions against it: one journey per customer across channels and
identity keys, waypoints fired as actions, customer context out::

    tracker = journey_core.Tracker(doc)
    tracker.subscribe(print)            # called with every action fired
    tracker.track({"ts": 1736121600000000, "keys": ["session:s1"],
                   "event": "add_to_cart", "channel": "web"})
    tracker.context("session:s1")       # phase, recent events, interests, emotion...

and checks the journeys customers actually took against it, from pandas, polars, pyarrow,
Parquet or CSV, with every measure's result convertible to a data frame::

    analysis = journey_core.Analysis.from_arrow(doc, events_df, mapping={"ts": "time"})
    analysis.funnel(["product_view", "add_to_cart", "order_confirmed"]).to_pandas()
    print(analysis.report())            # reach, funnel, gray areas, hypothesis report

Plots (plotly, optional) are in :mod:`journey_core.plot`.

The work is done by the compiled module ``journey_core._native``; this package
re-exports it. The shapes of events and results are described, for type checkers, in
:mod:`journey_core.types`.
"""

from journey_core._native import (
    Analysis,
    AnalysisResult,
    MapDocument,
    PartialResults,
    Partials,
    Phase,
    Problem,
    Table,
    Tracker,
    __version__,
    backtest,
    from_bench_design,
    map_schema,
    normalize_emotion,
    preset_phases,
    presets,
)
from journey_core.exceptions import (
    BadEventError,
    ClosedError,
    ConflictError,
    EmotionError,
    InternalError,
    JourneyError,
    JourneyIOError,
    LimitError,
    NotFoundError,
    ParseError,
    StorageError,
    ValidationError,
)

__all__ = [
    "Analysis",
    "AnalysisResult",
    "BadEventError",
    "ClosedError",
    "ConflictError",
    "EmotionError",
    "InternalError",
    "JourneyError",
    "JourneyIOError",
    "LimitError",
    "MapDocument",
    "NotFoundError",
    "ParseError",
    "PartialResults",
    "Partials",
    "Phase",
    "Problem",
    "StorageError",
    "Table",
    "Tracker",
    "ValidationError",
    "__version__",
    "backtest",
    "from_bench_design",
    "map_schema",
    "normalize_emotion",
    "preset_phases",
    "presets",
]

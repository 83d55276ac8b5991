"""Design, track and validate customer journeys.

A team writes down the journey it designs (personas, ordered phases, touchpoints with
their channel, owner, planned emotion and key moments, and waypoints) as a map document;
journey-core validates it, saves it and draws it::

    import journey_core

    doc = journey_core.MapDocument.load("shop.json")
    doc.validate()                      # raises ValidationError listing every problem
    print(doc.to_mermaid())             # the first map as a Mermaid journey diagram

The work is done by the compiled module ``journey_core._native``; this package
re-exports it.
"""

from journey_core._native import (
    MapDocument,
    Phase,
    Problem,
    __version__,
    map_schema,
    normalize_emotion,
    preset_phases,
    presets,
)
from journey_core.exceptions import (
    EmotionError,
    JourneyError,
    JourneyIOError,
    NotFoundError,
    ParseError,
    ValidationError,
)

__all__ = [
    "EmotionError",
    "JourneyError",
    "JourneyIOError",
    "MapDocument",
    "NotFoundError",
    "ParseError",
    "Phase",
    "Problem",
    "ValidationError",
    "__version__",
    "map_schema",
    "normalize_emotion",
    "preset_phases",
    "presets",
]

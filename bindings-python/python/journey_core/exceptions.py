"""The exceptions journey-core raises, all rooted at :class:`JourneyError`.

The classes are declared in the compiled module; this module re-exports them so that
``from journey_core.exceptions import ValidationError`` works.

- :class:`JourneyError`: the base class; ``kind`` is a stable short name.
- :class:`ParseError`: a malformed document or value (``path``, ``file``).
- :class:`ValidationError`: a map document that breaks rules (``problems``).
- :class:`EmotionError`: a rating outside its scale (``scale``, ``value``); also a
  ``ValueError``.
- :class:`NotFoundError`: an unknown map id or preset name (``what``, ``id``).
- :class:`JourneyIOError`: a file that cannot be read or written (``path``); also an
  ``OSError``.
"""

from journey_core._native import (
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
    "NotFoundError",
    "ParseError",
    "ValidationError",
]

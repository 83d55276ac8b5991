"""The exceptions journey-core raises, all rooted at :class:`JourneyError`.

The classes are declared in the compiled module; this module re-exports them so that
``from journey_core.exceptions import ValidationError`` works.

- :class:`JourneyError`: the base class; ``kind`` is a stable short name.
- :class:`ParseError`: a malformed document or value (``path``, ``file``).
- :class:`ValidationError`: a map document that breaks rules (``problems``).
- :class:`EmotionError`: a rating outside its scale (``scale``, ``value``); also a
  ``ValueError``.
- :class:`BadEventError`: a malformed event; nothing of it or its batch was applied
  (``index``, ``field``); also a ``ValueError``.
- :class:`LimitError`: an input larger than a limit allows; nothing of it or its batch
  was applied (``limit``, ``max``, ``value``, ``field``, ``index``); also a ``ValueError``.
- :class:`StorageError`: a storage backend failed (``message``, ``source``).
- :class:`ConflictError`: refused because it would break an identity rule (``message``).
- :class:`ClosedError`: a call on a closed tracker (``what``).
- :class:`NotFoundError`: an unknown map id, preset name, phase or identity key
  (``what``, ``id``).
- :class:`JourneyIOError`: a file that cannot be read or written (``path``); also an
  ``OSError``.
- :class:`InternalError`: a bug: Rust code panicked (``message``). The panic was caught,
  so it never escapes as a ``BaseException``; please report it.
"""

from journey_core._native import (
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
    "BadEventError",
    "ClosedError",
    "ConflictError",
    "EmotionError",
    "InternalError",
    "JourneyError",
    "JourneyIOError",
    "LimitError",
    "NotFoundError",
    "ParseError",
    "StorageError",
    "ValidationError",
]

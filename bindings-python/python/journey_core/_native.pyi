"""Design, track and validate customer journeys.

The compiled core of the ``journey_core`` package: import from ``journey_core``.
"""

import os
from typing import Any, ClassVar, final

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

__version__: str

@final
class MapDocument:
    """A saved design: personas and one journey map per persona.

    Build one with :meth:`from_json`, :meth:`load` or :meth:`from_dict`. Loading checks the
    shape only (an unknown field, a wrong type or a malformed value raises
    :class:`ParseError` naming its path); :meth:`validate` checks the meaning. A document
    is immutable; two documents are equal when their content is. In Jupyter a document
    displays as the SVG drawing of its first map.
    """

    @staticmethod
    def from_json(text: str) -> MapDocument:
        """Parses a document from JSON text.

        Args:
            text: The document as JSON.

        Returns:
            The document, not yet validated.

        Raises:
            ParseError: The text is not a map document: bad JSON, an unknown field, a wrong
                type, a format version newer than this library. ``path`` names the bad
                element.
        """

    @staticmethod
    def from_dict(data: dict[str, Any]) -> MapDocument:
        """Builds a document from plain Python data, the form :meth:`to_dict` returns.

        Args:
            data: A dict of JSON-like values: ``None``, ``bool``, ``int``, ``float``,
                ``str``, lists, tuples and dicts with ``str`` keys.

        Returns:
            The document, not yet validated.

        Raises:
            ParseError: The data is not a map document (see :meth:`from_json`).
            TypeError: ``data`` is not a dict, or holds a value with no JSON form.
            ValueError: ``data`` holds a NaN or infinite float, or a too large integer.
        """

    @staticmethod
    def load(path: str | os.PathLike[str]) -> MapDocument:
        """Reads and parses a document from a JSON file.

        Args:
            path: The file.

        Returns:
            The document, not yet validated.

        Raises:
            JourneyIOError: The file cannot be read.
            ParseError: The file is not a map document; ``file`` names it.
        """

    def to_json(self) -> str:
        """The document as pretty-printed JSON: two-space indent, fields in declaration order,
        a final newline. Parsing it back gives an equal document.
        """

    def to_dict(self) -> dict[str, Any]:
        """The document as plain Python data (dicts, lists, strings, numbers, booleans), the
        same structure as :meth:`to_json`.
        """

    def save(self, path: str | os.PathLike[str]) -> None:
        """Writes the document as JSON (as :meth:`to_json`), atomically: to a temporary file
        beside ``path``, then renamed over it.

        Args:
            path: The file to write.

        Raises:
            JourneyIOError: The file cannot be written.
        """

    @property
    def name(self) -> str:
        """The document's name, e.g. the company or product."""

    @property
    def map_ids(self) -> list[str]:
        """The ids of the journey maps, in document order."""

    def validate(self) -> None:
        """Checks the document's meaning: unique ids, known phases and personas, events
        claimed by one touchpoint, emotions in range, consistent waypoints.

        Raises:
            ValidationError: The document has problems; its ``problems`` lists every one.
        """

    def problems(self) -> list[Problem]:
        """Every problem of the document, in document order. Never raises.

        Returns:
            The problems; empty when the document is valid.
        """

    def to_mermaid(self, map_id: str | None = None) -> str:
        """A journey map as a Mermaid ``journey`` diagram: one section per phase, one task per
        touchpoint scored 1-5 from its planned emotion (3 when unplanned), with its
        department (or channels) as the actor; key moments are starred.

        Args:
            map_id: The map's id; ``None`` for the first map.

        Raises:
            NotFoundError: No map has this id, or the document has no maps.
        """

    def to_svg(self, map_id: str | None = None) -> str:
        """A journey map as a standalone SVG document.

        Args:
            map_id: The map's id; ``None`` for the first map.

        Raises:
            NotFoundError: No map has this id, or the document has no maps.
        """

    def _repr_svg_(self) -> str:
        """The SVG of the first map, for Jupyter and IPython rich display.

        Raises:
            NotFoundError: The document has no maps.
        """

    def __eq__(self, value: object, /) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

@final
class Phase:
    """An ordered step of the relationship (awareness, consideration, purchase...)."""

    @property
    def id(self) -> str:
        """Unique id in the map, e.g. ``awareness``."""

    @property
    def name(self) -> str:
        """A readable name."""

    @property
    def description(self) -> str:
        """What the customer is doing in this phase (empty if not given)."""

    def to_dict(self) -> dict[str, str]:
        """The phase as a dict, in the map document's JSON form (``id``, ``name`` and, when
        not empty, ``description``), ready to put in a map's ``phases``.
        """

    def __eq__(self, value: object, /) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

@final
class Problem:
    """One problem found by validation.

    ``str()`` gives ``path: message``. Two problems are equal when their kind, path and
    message are.
    """

    @property
    def kind(self) -> str:
        """The kind of problem, a stable name: ``duplicate_id``, ``empty_field``,
        ``unknown_phase``, ``unknown_persona``, ``event_claimed_twice``,
        ``unknown_reference``, ``empty_phase``, ``emotion_out_of_range`` or
        ``invalid_waypoint``.
        """

    @property
    def path(self) -> str:
        """Where, as a path into the document, e.g. ``maps[0].phases[2]``."""

    @property
    def message(self) -> str:
        """What is wrong, in words, naming the offending value."""

    def to_dict(self) -> dict[str, str]:
        """The problem as a dict with the keys ``kind``, ``path`` and ``message``."""

    def __eq__(self, value: object, /) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

def presets() -> list[str]:
    """The names of the ready-made phase presets: ``funnel`` (awareness, interest,
    consideration, action, usage, advocacy) and ``relationship`` (connect, orient,
    interact, expand, refer).
    """

def preset_phases(name: str) -> list[Phase]:
    """The phases of a preset, in journey order.

    Args:
        name: The preset's name, one of :func:`presets`.

    Returns:
        The phases, with ids, names and descriptions.

    Raises:
        NotFoundError: No preset has this name.
    """

def normalize_emotion(value: str | float, scale: str = "score") -> float:
    """Converts an emotion rating to the normalised scale ``[-1, 1]``.

    Maps plan emotions as labels; surveys measure them as CSAT 1-5, NPS 0-10 or raw
    scores. The conversion is exact: labels ``negative`` / ``neutral`` / ``positive`` give
    -1 / 0 / 1, CSAT ``(x - 3) / 2``, NPS ``(x - 5) / 5``, scores are already normalised.

    Args:
        value: The rating: a number, or for ``label`` a label's name (the numbers -1, 0
            and 1 are accepted too).
        scale: ``"label"``, ``"csat"``, ``"nps"`` or ``"score"``.

    Returns:
        The normalised emotion, a float in ``[-1, 1]``.

    Raises:
        EmotionError: The value is outside the scale's range or of the wrong form, e.g.
            CSAT 6 or 3.5. Out-of-range values are never clamped.
        ParseError: The scale is unknown.
    """

def map_schema() -> str:
    """The JSON Schema (draft 2020-12) of the map document, as pretty-printed JSON text.
    Editors use it to complete and check map files.
    """

class JourneyError(Exception):
    """Base class of every error journey-core raises.

    Attributes:
        kind: The error's kind, a stable short name: ``parse``, ``validation``,
            ``emotion``, ``not_found`` or ``io`` (and, for errors of kinds this version
            of the binding has no class for yet, their core name).
    """

    kind: str

class ParseError(JourneyError):
    """A document or value is malformed: bad JSON, an unknown field, a wrong type.

    Attributes:
        path: The path of the bad element in the document, e.g.
            ``maps[0].touchpoints[2].emotion`` (empty for the whole document).
        file: The file it was read from, or ``None``.
        message: What is wrong (the exception's text adds the file and the path).
    """

    path: str
    file: str | None
    message: str

class ValidationError(JourneyError):
    """A well-formed map document breaks one or more rules.

    Attributes:
        problems: Every problem found, as :class:`Problem` objects in document order
            (never empty).
    """

    problems: list[Problem]

class EmotionError(JourneyError, ValueError):
    """An emotion rating outside its scale (never clamped). Also a :class:`ValueError`.

    Attributes:
        scale: The scale of the rejected rating: ``label``, ``csat``, ``nps`` or ``score``.
        value: The rejected value, as text.
        range: The accepted range, in words.
    """

    scale: str
    value: str
    range: str

class NotFoundError(JourneyError):
    """Something asked for by id does not exist.

    Attributes:
        what: What was looked for (``map``, ``preset``...).
        id: The id asked for.
    """

    what: str
    id: str

class JourneyIOError(JourneyError, OSError):
    """Reading or writing a file failed. Also an :class:`OSError`, with its ``errno``,
    ``strerror`` and ``filename``.

    Attributes:
        path: The file (the same as ``filename``).
    """

    path: str

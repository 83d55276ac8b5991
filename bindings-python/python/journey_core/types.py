"""The shapes of the plain data the tracker takes and returns, as ``TypedDict``s.

Events go in, and results come out, as dicts in the core's JSON form; these classes only
describe them for type checkers and editors (at runtime they are ordinary dicts)::

    from journey_core import Tracker
    from journey_core.types import Action, Context, Event

Times are ``int`` microseconds since the Unix epoch, UTC; an event's ``ts`` may also be
an aware :class:`datetime.datetime`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, NotRequired, TypeAlias, TypedDict

__all__ = [
    "Action",
    "CheckReport",
    "ColumnMapping",
    "Conflict",
    "Context",
    "Deadline",
    "EmotionTrend",
    "Event",
    "ExportStats",
    "Explanation",
    "Forgotten",
    "IdentityLevel",
    "IdentityRules",
    "IdentityLink",
    "Interest",
    "KeyColumn",
    "Limits",
    "LinkEntry",
    "LinkOutcome",
    "Outcome",
    "ProfileFilter",
    "ProfileSummary",
    "Rating",
    "RatingColumn",
    "Route",
    "Tracked",
    "TrackedEvent",
    "TrackerConfig",
]

IdentityLevel: TypeAlias = Literal["anonymous", "identified", "authenticated"]
"""How well a profile is known, from least to most."""

Outcome: TypeAlias = Literal["reached", "missed"]
"""Whether a waypoint's condition matched (``reached``) or its deadline passed first
(``missed``)."""

LinkOutcome: TypeAlias = Literal["joined", "merged", "already", "refused", "removed"]
"""What happened to an identity link."""

Rating: TypeAlias = str | float | dict[str, float]
"""An emotion rating: a label (``"positive"``), a raw score in ``[-1, 1]``, or a dict
naming its scale: ``{"csat": 4}``, ``{"nps": 9}``, ``{"score": 0.5}``."""


class Event(TypedDict):
    """One interaction, as given to :meth:`Tracker.track`."""

    ts: int | datetime
    """When: microseconds since the epoch, UTC, or an aware datetime (naive ones are
    refused)."""
    keys: list[str]
    """Every identity key it carried, ``kind:value``; several keys link them."""
    event: str
    """The raw event name (``add_to_cart``, ``support_call``...)."""
    channel: str
    """The channel it happened on (``web``, ``phone``...)."""
    department: NotRequired[str]
    """The department that handled it (else its touchpoint's owner applies)."""
    rating: NotRequired[Rating]
    """How the customer felt."""
    properties: NotRequired[dict[str, Any]]
    """Free-form data."""


class TrackedEvent(TypedDict):
    """An event as stored: the event (``ts`` as an int) with its arrival number and
    profile."""

    seq: int
    profile: int
    ts: int
    keys: list[str]
    event: str
    channel: str
    department: NotRequired[str]
    rating: NotRequired[Rating]
    properties: NotRequired[dict[str, Any]]


class Explanation(TypedDict):
    """Why a waypoint fired."""

    event_seq: int
    """For ``reached``: the event that matched; for ``missed``: the event that armed the
    deadline."""
    event: str
    """That event's raw name."""
    condition: dict[str, Any]
    """The condition that matched, or the trigger that armed the deadline, in the map's
    JSON form."""
    deadline: list[int] | None
    """For deadlines: ``[armed_at, due]``."""


class Action(TypedDict):
    """An action a waypoint asks the host to execute (the library never does)."""

    id: str
    """Unique id, for :meth:`Tracker.ack`."""
    profile: int
    waypoint: str
    outcome: Outcome
    kind: str
    """The kind of action (``callback_offer``, ``coupon``, ``chat_offer``...)."""
    payload: dict[str, Any]
    """Data for the host, from the map."""
    ts: int
    """Event time of the firing (for ``missed``: the deadline)."""
    why: Explanation


class Tracked(TypedDict):
    """What tracking one event did."""

    seq: int
    """The event's arrival number."""
    profile: int
    """The profile it landed on."""
    touchpoint: str | None
    """Its touchpoint id, ``None`` off-map."""
    phase: str | None
    actions: list[Action]
    """Fired while tracking it: due deadlines first, then its waypoints."""


class Interest(TypedDict):
    """Something a customer showed interest in recently."""

    what: str
    """A touchpoint id, or ``property=value`` for an interest property."""
    count: int
    last_ts: int


class EmotionTrend(TypedDict):
    """How a customer has felt, on the normalised scale ``[-1, 1]``."""

    ratings: int
    mean: float | None
    lowest: float | None
    last: float | None
    recent: list[list[float]]
    """The ratings among the recent events, oldest first, as ``[ts, emotion]`` pairs
    (``ts`` an int)."""


class Deadline(TypedDict):
    """An armed waypoint deadline."""

    profile: int
    waypoint: str
    armed_at: int
    due: int
    """Missed once the clock is strictly past it."""
    trigger_seq: int
    trigger_event: str


class Conflict(TypedDict):
    """A link refused because it would break an identity limit."""

    key: str
    other: str
    ts: int
    event_seq: int | None
    kind: str
    """The key kind whose limit would be broken."""
    limit: int
    message: str


class CheckReport(TypedDict):
    """What :meth:`Tracker.check` found in a SQLite file."""

    profiles: int
    events: int
    keys: int
    problems: list[str]
    """Every problem found; empty when the store is sound."""


class Context(TypedDict):
    """Everything an agent or an IVR needs about a customer, at once."""

    profile: int
    keys: list[str]
    level: IdentityLevel
    persona: str | None
    current_phase: str | None
    """The phase of the latest on-map event."""
    furthest_phase: str | None
    phases_reached: list[str]
    """In map order."""
    events: int
    first_ts: int | None
    last_ts: int | None
    recent: list[TrackedEvent]
    """The latest events across all channels, oldest first."""
    interests: list[Interest]
    """Most recent first."""
    emotion: EmotionTrend
    open_waypoints: list[Deadline]
    conflicts: list[Conflict]


class Route(TypedDict):
    """Where an interaction should go, from the map's routing rules."""

    rule: str
    """The id of the rule that matched."""
    queue: str
    department: str | None
    """The department that owns the queue."""
    priority: int
    """The priority in the queue: lower is served first."""


class LinkEntry(TypedDict):
    """One entry of the append-only log of links and merges."""

    a: str
    b: str
    ts: int
    event_seq: int | None
    """The event that carried both keys, if it came from one."""
    outcome: LinkOutcome
    absorbed: int | None
    """For a merge: the profile that was absorbed."""
    profile: int


class ProfileSummary(TypedDict):
    """A profile listed by :meth:`Tracker.profiles`."""

    profile: int
    key: str | None
    """Its first key."""
    level: IdentityLevel
    persona: str | None
    current_phase: str | None
    furthest_phase: str | None
    events: int


class ProfileFilter(TypedDict, total=False):
    """Criteria for :meth:`Tracker.profiles` and :meth:`Tracker.count`; all must hold."""

    reached: str | None
    """Reached this phase."""
    not_reached: str | None
    """Has not reached this phase."""
    current_phase: str | None
    persona: str | None
    level: IdentityLevel | None


class IdentityRules(TypedDict, total=False):
    """How identity keys are judged and how far profiles may be merged; a field left out
    keeps its default."""

    levels: dict[str, IdentityLevel]
    """The level each key kind gives a profile (replaces the default table)."""
    default_level: IdentityLevel
    """The level of kinds not in ``levels``."""
    limits: dict[str, int]
    """The most keys of a kind one profile may hold."""


class Limits(TypedDict, total=False):
    """Limits on untrusted input (the Rust docs of ``journey_core::limits`` describe
    each); a limit left out keeps its default. A value equal to its limit is accepted."""

    key_len: int
    """Bytes of one identity key (default 256)."""
    event_name_len: int
    """Bytes of an event's name, channel and department (default 256)."""
    keys_per_event: int
    """Identity keys per event (default 32)."""
    properties_per_event: int
    """Top-level properties per event (default 256)."""
    property_name_len: int
    """Bytes of one top-level property name (default 256)."""
    property_value_len: int
    """Bytes of one top-level property value, as compact JSON (default 65536)."""
    property_depth: int
    """Nesting depth of an event's properties; ``{"a": 1}`` is 1 deep (default 32)."""
    batch_size: int
    """Events per batch (default 10000)."""
    keys_per_profile: int
    """Identity keys per profile, all kinds together; a link past it is refused and
    recorded as a conflict of kind ``*`` (default 1000)."""
    map_phases: int
    """Phases per map (default 100)."""
    map_touchpoints: int
    """Touchpoints per map (default 2000)."""
    map_waypoints: int
    """Waypoints per map (default 500)."""
    condition_depth: int
    """Nesting depth of one condition (default 32)."""
    condition_nodes: int
    """Nodes of one condition (default 1000)."""


class TrackerConfig(TypedDict):
    """A tracker's configuration, as :attr:`Tracker.config` returns it."""

    map: str | None
    identity: IdentityRules
    recent_events: int
    interest_properties: list[str]
    limits: Limits


class KeyColumn(TypedDict):
    """An identity-key column of a :class:`ColumnMapping` whose values are plain (``ana@x``)
    rather than ``kind:value``: the kind prefixes them."""

    column: str
    kind: NotRequired[str | None]


class RatingColumn(TypedDict):
    """The rating column of a :class:`ColumnMapping` and its scale: ``csat`` (1-5),
    ``nps`` (0-10), ``score`` (``[-1, 1]``) or ``label`` (-1, 0, 1)."""

    column: str
    scale: Literal["csat", "nps", "score", "label"]


class ColumnMapping(TypedDict, total=False):
    """Which column holds what, for :meth:`journey_core.Analysis.from_arrow` and
    :meth:`~journey_core.Analysis.from_parquet`; a field left out keeps its default
    (``ts``, ``seq`` if present, ``customer_key`` or ``key``, ``event``, ``channel``,
    ``department`` if present, ``csat`` / ``nps`` / ``rating`` if present).

    With several ``keys``, a row's first non-null key is its key and the others are
    linked to it at the event's time."""

    ts: str
    seq: str
    keys: list[str | KeyColumn]
    event: str
    channel: str
    department: str
    rating: RatingColumn
    profile: str


class IdentityLink(TypedDict):
    """An identity link given apart from events (a login, a CRM match)."""

    a: str
    b: str
    ts: int


class Forgotten(TypedDict):
    """What :meth:`journey_core.Tracker.forget` removed."""

    profile: int | None
    keys: list[str]
    events: int
    scrubbed: int


class ExportStats(TypedDict):
    """How many records of each kind a JSON Lines export wrote or an import read."""

    profiles: int
    keys: int
    events: int
    links: int
    conflicts: int
    deadlines: int
    actions: int

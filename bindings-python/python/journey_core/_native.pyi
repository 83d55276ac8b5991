"""Design, track and validate customer journeys.

The compiled core of the ``journey_core`` package: import from ``journey_core``.
"""

import os
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal, Unpack, final

from journey_core.types import (
    Action,
    CheckReport,
    ColumnMapping,
    ExportStats,
    Forgotten,
    IdentityLink,
    Conflict,
    Context,
    Event,
    IdentityRules,
    Limits,
    LinkEntry,
    LinkOutcome,
    ProfileFilter,
    ProfileSummary,
    Route,
    Tracked,
    TrackedEvent,
    TrackerConfig,
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
        ``unknown_reference``, ``empty_phase``, ``emotion_out_of_range``,
        ``invalid_waypoint`` or ``limit_exceeded``.
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

@final
class Tracker:
    """Tracks interactions against one journey map: one journey per customer across
    channels and identity keys, waypoints fired as actions, customer context out.

    Events are dicts in the core's JSON form::

        tracker.track({"ts": 1736121762854513, "keys": ["session:8f3a"],
                       "event": "add_to_cart", "channel": "web"})

    ``ts`` is an ``int`` of microseconds since the Unix epoch, UTC, or an aware
    ``datetime``; a naive ``datetime`` is refused (:class:`BadEventError`), since it
    could be local time or UTC. Optional fields: ``department``, ``rating`` (any form the
    core accepts: ``"positive"``, ``0.5``, ``{"csat": 4}``, ``{"nps": 9}``) and
    ``properties`` (a dict). Times in results are ``int`` microseconds, UTC. The
    shapes of events and results are typed in :mod:`journey_core.types`.

    Time is event time: each event first advances the tracker's clock to its ``ts``,
    firing the deadlines that fell due before it; :meth:`advance` (or :meth:`start_clock`,
    from the wall clock) does the same without an event.

    The tracker keeps its journeys in memory, for its lifetime, with ``path`` in a
    SQLite file (WAL; an acknowledged event or batch survives the process being killed;
    one writing tracker per file), or with ``postgres`` on a PostgreSQL server (12 or
    newer), in the tables of ``schema``, shared by every tracker (in any process or on
    any machine) opened on the same server and schema: their writes are serialised by
    the server, so a customer tracked by one is seen by all, and a due deadline fires
    once across them. :attr:`store` says which. It can be shared between threads; the
    interpreter is released while the core works. Close it with :meth:`close` (or use
    it as a context manager): the store is brought up to date and released, and every
    later call raises :class:`ClosedError`.

    Args:
        doc: The map document; it is validated first.
        path: A SQLite file to keep the journeys in (created if missing, migrated on
            open); in memory when ``None`` (and no ``postgres``).
        postgres: A PostgreSQL connection URL, ``postgres://user:password@host:port/db``
            (or ``key=value`` pairs), to keep the journeys on that server; not with
            ``path``. The URL is not kept, and errors name the server without it.
        durability: SQLite only: ``process`` (a commit survives the process being
            killed; the default) or ``os`` (also an OS crash or power cut: the log is
            synced on every commit).
        key_secret: Store identity values only as keyed hashes (HMAC-SHA-256 with this
            secret, ``bytes``, at least 16 of them); lookups by raw key still work. SQLite
            or PostgreSQL.
        hash_kinds: Hash only these key kinds (e.g. ``["email", "phone"]``); every kind
            when ``None``.
        read_only: SQLite only: open the file for reading only, beside a writer.
        max_size: SQLite only: the most bytes the file may grow to; a write that would
            pass it raises :class:`StorageError` and changes nothing. No limit when
            ``None``.
        busy_timeout: SQLite only: seconds to wait for a lock held by another
            connection before failing (0: fail at once); 5 when ``None``.
        checkpoint_bytes: SQLite only: journal bytes after which the state tables are
            brought up to date (smaller: faster reopening, more writing); 64 MiB when
            ``None``.
        cache_mib: SQLite only: the page cache per connection, in MiB; 64 when ``None``.
        schema: PostgreSQL only: the schema holding the tables (created if missing;
            lowercase letters, digits and ``_``, at most 63 bytes); ``journey_core`` when
            ``None``.
        pool_size: PostgreSQL only: the most connections the tracker opens (at least 1);
            4 when ``None``.
        connect_timeout: PostgreSQL only: seconds connecting may take, unless the URL
            sets ``connect_timeout``; 5 when ``None``.
        pool_wait: PostgreSQL only: seconds a call waits for a free connection when all
            are busy; 30 when ``None``.
        attempts: PostgreSQL only: how many times a write is tried when it meets a
            serialization failure, a deadlock or a lost connection (at least 1); 5 when
            ``None``.
        fetch_size: PostgreSQL only: rows fetched at a time by scans (``export_jsonl``,
            :meth:`Analysis.from_tracker`); 1000 when ``None``.
        cache_entries: PostgreSQL only: keys and profiles remembered between writes,
            reused while no other instance commits in between (0: none); 200000 when
            ``None``.
        map: The id of the map to track against; the document's first map when ``None``.
        recent_events: How many recent events customer context returns.
        interest_properties: Event properties whose values count as interests in
            customer context; ``None`` for the default ``topic``, ``product`` and
            ``category``.
        identity: Identity rules, ``{"levels": {kind: level}, "default_level": level,
            "limits": {kind: n}}``; a field left out keeps its default (``session``,
            ``device``, ``cookie``, ``social`` anonymous; ``email``, ``phone``,
            ``loyalty`` identified; ``customer`` authenticated and at most one per
            profile). ``None`` for the defaults.
        limits: Limits on untrusted input, ``{"event_name_len": 256, "batch_size":
            10000, ...}``; a limit left out keeps its default. Each is described in the
            Rust docs of ``journey_core::limits``; an event or batch over one raises
            :class:`LimitError`, a map over one :class:`ValidationError`. ``None`` for the
            defaults.

    Raises:
        ValidationError: The document has problems, or is larger than ``limits`` allow.
        StorageError: The file cannot be opened as a store (another tracker writes it,
            it is not a journey-core database, or it is of a newer version); the
            PostgreSQL server cannot be reached (the message names it), or ``schema``
            holds other tables.
        ParseError: The URL is malformed (``path`` ``url``), ``schema`` is not a valid
            name (``schema``).
        JourneyIOError: The file cannot be opened.
        ValueError: ``durability`` is unknown; ``path`` and ``postgres`` together;
            ``key_secret`` / ``hash_kinds`` without a store; ``key_secret`` shorter than
            16 bytes; ``hash_kinds`` without it; a SQLite-only option (``durability`` to
            ``cache_mib``) without ``path``; ``schema`` / ``pool_size`` /
            ``connect_timeout`` (to ``cache_entries``) without ``postgres``;
            ``pool_size``, ``attempts``, ``max_size``, ``checkpoint_bytes`` or
            ``cache_mib`` 0; ``fetch_size`` outside 1 to 2147483647; ``connect_timeout``
            or ``pool_wait`` not positive; ``busy_timeout`` negative. The message names
            the option.
        NotFoundError: No map has the id ``map``.
        ParseError: ``identity`` or ``limits`` is malformed; ``path`` names the bad
            element, e.g. ``identity.levels.email`` or ``limits.batch_size``.
    """

    def __new__(
        cls,
        doc: MapDocument,
        *,
        path: str | os.PathLike[str] | None = None,
        postgres: str | None = None,
        durability: Literal["process", "os"] | None = None,
        key_secret: bytes | None = None,
        hash_kinds: Sequence[str] | None = None,
        read_only: bool = False,
        max_size: int | None = None,
        busy_timeout: float | None = None,
        checkpoint_bytes: int | None = None,
        cache_mib: int | None = None,
        schema: str | None = None,
        pool_size: int | None = None,
        connect_timeout: float | None = None,
        pool_wait: float | None = None,
        attempts: int | None = None,
        fetch_size: int | None = None,
        cache_entries: int | None = None,
        map: str | None = None,
        recent_events: int = 20,
        interest_properties: Sequence[str] | None = None,
        identity: IdentityRules | None = None,
        limits: Limits | None = None,
    ) -> Tracker: ...
    def forget(self, key: str) -> Forgotten | None:
        """The right to be forgotten: removes the profile of ``key`` with its events, keys,
        links, conflicts, deadlines, caps, persona, attributes and pending actions, and
        removes its keys from events of other profiles, in one transaction.

        Returns:
            What was removed (``profile``, ``keys``, ``events``, ``scrubbed``), or ``None``
            for a key never seen.

        Raises:
            ParseError: ``key`` is not of the form ``kind:value``.
            StorageError: The store failed (nothing was removed).
            ClosedError: The tracker is closed.
        """

    def delete_before(self, before: int | datetime) -> int:
        """Retention: deletes every event older than ``before`` (event time), in one
        transaction. Profile summaries, keys and links stay.

        Returns:
            How many events were deleted.

        Raises:
            ValueError: ``before`` is a naive ``datetime``.
            StorageError: The store failed (nothing was deleted).
            ClosedError: The tracker is closed.
        """

    def checkpoint(self) -> None:
        """Brings a SQLite file's state tables (profiles, keys, armed deadlines, pending
        actions) up to date, so that other tools reading the file (the ``sqlite3`` shell,
        DuckDB, pandas) see the current state; events, through the view ``journey_events``,
        are always current. Done automatically every ``checkpoint_bytes`` of journal and on
        :meth:`close`. Does nothing in memory or on PostgreSQL.

        Raises:
            StorageError: The file could not be written (the journal still holds
                everything).
            ClosedError: The tracker is closed.
        """

    def check(self) -> CheckReport | None:
        """Checks a SQLite file and the store's invariants: SQLite's ``integrity_check``, every
        event on an existing profile, every key on exactly one profile, and the state in
        memory equal to the state rebuilt from the file.

        Returns:
            ``{"profiles", "events", "keys", "problems"}``, with no problem for a sound
            store; ``None`` in memory or on PostgreSQL, which have no such check.

        Raises:
            StorageError: The file could not be read.
            ClosedError: The tracker is closed.
        """

    def export_jsonl(self, path: str | os.PathLike[str]) -> ExportStats:
        """Writes the whole store as JSON Lines (profiles, keys, events in journey order,
        links, conflicts, deadlines, pending actions).

        Returns:
            How many records of each kind were written.

        Raises:
            JourneyIOError: The file cannot be written.
            ClosedError: The tracker is closed.
        """

    def import_jsonl(self, path: str | os.PathLike[str]) -> ExportStats:
        """Reads a JSON Lines export into this tracker's store, which must be empty, in one
        transaction. Open a new tracker on the store afterwards to see the imported state.

        Returns:
            How many records of each kind were read.

        Raises:
            JourneyIOError: The file cannot be read.
            ParseError: A line is malformed.
            ConflictError: The store is not empty.
            StorageError: The store failed (nothing was imported).
            ClosedError: The tracker is closed.
        """

    @property
    def path(self) -> str | None:
        """The SQLite file, or ``None`` for a tracker in memory or on PostgreSQL."""

    @property
    def store(self) -> Literal["memory", "sqlite", "postgres"]:
        """Which store keeps the journeys: ``"memory"``, ``"sqlite"`` (``path``) or
        ``"postgres"``. The PostgreSQL URL is not kept (it may hold a password)."""

    def track(self, event: Event) -> Tracked:
        """Tracks one event.

        Args:
            event: The event, a dict (see :class:`Tracker`).

        Returns:
            What tracking it did: ``seq`` (its arrival number), ``profile`` (the profile
            it landed on), ``touchpoint`` and ``phase`` (``None`` off-map) and
            ``actions`` (fired while tracking it: due deadlines first, then its
            waypoints).

        Raises:
            LimitError: The event is larger than the tracker's ``limits`` allow;
                ``limit``, ``value`` and ``field`` say how. Nothing is stored.
            BadEventError: The event is malformed (a missing or unknown field, a bad key,
                an empty name, a rating out of range, a naive datetime); ``field`` names
                it. Nothing is stored.
            TypeError: ``event`` is not a dict, or holds a value with no JSON form.
            ValueError: It holds a NaN or infinite float, or a too large integer.
            ClosedError: The tracker is closed.
        """

    def track_batch(self, events: Iterable[Event]) -> list[Tracked]:
        """Tracks a batch of events in one transaction: all of it or, if any event is bad,
        none of it.

        Args:
            events: The events, any iterable of dicts.

        Returns:
            What tracking each event did, in order (see :meth:`track`).

        Raises:
            LimitError: The batch, or an event of it, is larger than ``limits`` allow;
                ``index`` is the event's position. Nothing of the batch is applied.
            BadEventError: An event is malformed; ``index`` is its position and ``field``
                the field at fault. Nothing of the batch is applied.
            TypeError: An event is not a dict, or holds a value with no JSON form (the
                message names ``events[i]``).
            ValueError: An event holds a NaN or infinite float, or a too large integer.
            ClosedError: The tracker is closed.
        """

    def advance(self, now: int | datetime) -> list[Action]:
        """Advances the clock to ``now`` (event time) and fires every deadline due strictly
        before it, as ``missed`` actions.

        Args:
            now: An ``int`` of microseconds since the epoch, UTC, or an aware
                ``datetime``.

        Returns:
            The actions fired, in order.

        Raises:
            ValueError: ``now`` is a naive ``datetime``.
            TypeError: ``now`` is neither an ``int`` nor a ``datetime``.
            ClosedError: The tracker is closed.
        """

    def context(self, key: str) -> Context | None:
        """Customer context for any key of a profile: everything an agent or an IVR needs at
        once (keys and level, persona, phases, recent events across channels, interests,
        emotion, open waypoints, identity conflicts).

        Args:
            key: An identity key, ``kind:value`` (e.g. ``phone:+34600000000``).

        Returns:
            The context, or ``None`` for a key never seen.

        Raises:
            ParseError: ``key`` is not of the form ``kind:value``.
            ClosedError: The tracker is closed.
        """

    def route(self, key: str) -> Route | None:
        """Where a customer's next interaction should go: the first of the map's routing rules
        whose condition matches the profile (its latest event, with ``phase`` meaning the
        profile's current phase and its facts as ``profile.*`` properties:
        ``profile.emotion_last``, ``profile.emotion_mean``, ``profile.emotion_lowest``,
        ``profile.events``, ``profile.furthest_phase``).

        Args:
            key: Any identity key of the profile, ``kind:value``.

        Returns:
            The rule, queue, owning department and priority (lower is served first), or
            ``None`` for a key never seen or when no rule matches.

        Raises:
            ParseError: ``key`` is not of the form ``kind:value``.
            ClosedError: The tracker is closed.
        """

    def journey(self, key: str) -> list[TrackedEvent]:
        """A profile's whole journey: its events in ``(ts, seq)`` order, with their ``seq``
        and ``profile``.

        Args:
            key: Any identity key of the profile.

        Returns:
            The events; empty for a key never seen.

        Raises:
            ParseError: ``key`` is not of the form ``kind:value``.
            ClosedError: The tracker is closed.
        """

    def link(self, a: str, b: str, ts: int | datetime) -> LinkOutcome:
        """Links two keys explicitly (a login, a CRM match), under the same identity rules as
        the keys of an event.

        Args:
            a: One key.
            b: The other key.
            ts: When, as an ``int`` of microseconds since the epoch, UTC, or an aware
                ``datetime``.

        Returns:
            What happened: ``"joined"`` (a new key joined a profile), ``"merged"`` (two
            profiles became one), ``"already"`` (already linked) or ``"refused"`` (it would
            break an identity limit; recorded in :meth:`conflicts`).

        Raises:
            ParseError: A key is not of the form ``kind:value``.
            ValueError: ``ts`` is a naive ``datetime``.
            TypeError: ``ts`` is neither an ``int`` nor a ``datetime``.
            ClosedError: The tracker is closed.
        """

    def unlink(self, a: str, b: str, ts: int | datetime) -> int | None:
        """Removes a wrong link (a shared device, a mistyped e-mail) and splits the profile
        back along the remaining links, moving events, deadlines and state.

        Args:
            a: One key.
            b: The other key.
            ts: When, as for :meth:`link`.

        Returns:
            The id of the new profile if the profile split, else ``None``.

        Raises:
            ConflictError: The keys are not linked.
            ParseError: A key is not of the form ``kind:value``.
            ValueError: ``ts`` is a naive ``datetime``.
            TypeError: ``ts`` is neither an ``int`` nor a ``datetime``.
            ClosedError: The tracker is closed.
        """

    def link_log(self, key: str) -> list[LinkEntry]:
        """The append-only log of the links and merges that made a key's profile.

        Args:
            key: Any identity key of the profile.

        Returns:
            The entries, in log order; empty for a key never seen.

        Raises:
            ParseError: ``key`` is not of the form ``kind:value``.
            ClosedError: The tracker is closed.
        """

    def conflicts(self) -> list[Conflict]:
        """Every identity conflict recorded: links refused because they would break an
        identity limit (by default, two ``customer`` keys in one profile).

        Raises:
            ClosedError: The tracker is closed.
        """

    def profiles(self, filter: ProfileFilter | None = None, /, **criteria: Unpack[ProfileFilter]) -> list[ProfileSummary]:
        """The profiles matching a filter, by id. Criteria come as a dict, as keywords, or
        both (each once); every criterion must hold.

        Args:
            filter: ``{"reached": phase, "not_reached": phase, "current_phase": phase,
                "persona": id, "level": level}``, every key optional.
            **criteria: The same criteria as keywords, e.g. ``not_reached="purchase"``.

        Returns:
            A summary of each matching profile.

        Raises:
            NotFoundError: A phase criterion names no phase of the map.
            ParseError: An unknown criterion or a bad value; ``path`` names it.
            TypeError: ``filter`` is not a dict, or a criterion is given twice.
            ClosedError: The tracker is closed.
        """

    def count(self, filter: ProfileFilter | None = None, /, **criteria: Unpack[ProfileFilter]) -> int:
        """How many profiles match a filter (see :meth:`profiles`).

        Raises:
            NotFoundError: A phase criterion names no phase of the map.
            ParseError: An unknown criterion or a bad value; ``path`` names it.
            TypeError: ``filter`` is not a dict, or a criterion is given twice.
            ClosedError: The tracker is closed.
        """

    def pending_actions(self, limit: int = 100) -> list[Action]:
        """The outbox: actions not yet acknowledged, oldest first. The library never executes
        an action; the host executes each and acknowledges it with :meth:`ack`.

        Args:
            limit: The most actions returned.

        Raises:
            ClosedError: The tracker is closed.
        """

    def ack(self, action_id: str) -> bool:
        """Acknowledges an executed action, removing it from the outbox.

        Args:
            action_id: The action's ``id``.

        Returns:
            ``True`` if it was pending, ``False`` if not (unknown or already acknowledged).

        Raises:
            ClosedError: The tracker is closed.
        """

    def assign_persona(self, key: str, persona: str | None) -> None:
        """Assigns a persona to a key's profile explicitly, or clears it.

        Args:
            key: Any identity key of the profile.
            persona: The persona's id, or ``None`` to clear it.

        Raises:
            NotFoundError: The key was never seen.
            ParseError: ``key`` is not of the form ``kind:value``.
            ClosedError: The tracker is closed.
        """

    def set_attributes(self, key: str, attributes: dict[str, Any]) -> str | None:
        """Sets profile attributes (merged into the existing ones) and assigns the first
        persona whose ``assign_when`` rule matches them.

        Args:
            key: Any identity key of the profile.
            attributes: The attributes, a dict of JSON-like values.

        Returns:
            The persona now assigned, or ``None``.

        Raises:
            NotFoundError: The key was never seen.
            ParseError: ``key`` is not of the form ``kind:value``.
            TypeError: ``attributes`` is not a dict, or holds a value with no JSON form.
            ClosedError: The tracker is closed.
        """

    def subscribe(self, callback: Callable[[Action], object]) -> None:
        """Calls ``callback(action)`` with every action fired from now on, after it is
        committed, on the thread that fired it: the caller of :meth:`track`,
        :meth:`track_batch` or :meth:`advance`, or the clock's thread (see
        :meth:`start_clock`). Subscribers are called in the order they subscribed.

        An exception raised by ``callback`` does not reach the tracker or the caller of
        :meth:`track`: it is reported through :func:`sys.unraisablehook` (as exceptions in
        ``__del__`` are), and the remaining subscribers are still called. Subscribers are
        released by :meth:`unsubscribe` and :meth:`close`.

        Args:
            callback: Any callable taking one action.

        Raises:
            TypeError: ``callback`` is not callable.
            ClosedError: The tracker is closed.
        """

    def unsubscribe(self, callback: Callable[[Action], object]) -> bool:
        """Stops calling ``callback`` (the earliest of its subscriptions, if it subscribed
        more than once) for actions committed from now on; a call already under way on
        another thread finishes.

        Args:
            callback: A callable given to :meth:`subscribe` (compared with ``==``, so a
                bound method works).

        Returns:
            Whether it was subscribed.

        Raises:
            ClosedError: The tracker is closed.
        """

    def start_clock(self, interval_seconds: float = 1.0) -> None:
        """Starts driving :meth:`advance` from the wall clock, on a background thread: every
        ``interval_seconds`` the clock advances to the current time, so deadlines fire in
        real time (to subscribers and the outbox) without events. Starting it again
        replaces the running clock. Stopped by :meth:`stop_clock` and :meth:`close`.

        An error while advancing (e.g. of the store) is reported through
        :func:`sys.unraisablehook`, and the clock keeps going.

        Args:
            interval_seconds: Seconds between two ticks, more than 0.

        Raises:
            ValueError: ``interval_seconds`` is not a positive, finite number.
            ClosedError: The tracker is closed.
        """

    def stop_clock(self) -> None:
        """Stops the wall clock started by :meth:`start_clock`, waiting for its last tick to
        finish. Does nothing if it is not running. Called from a subscriber, it does not
        wait: the clock stops once the running tick (and its subscribers) finish.
        """

    @property
    def clock_running(self) -> bool:
        """Whether the wall clock started by :meth:`start_clock` is running."""

    @property
    def clock(self) -> int | None:
        """The tracker's clock: the latest event time or :meth:`advance` reading seen, in
        microseconds since the epoch, UTC; ``None`` before any.

        Raises:
            ClosedError: The tracker is closed.
        """

    @property
    def map_id(self) -> str:
        """The id of the tracked map."""

    @property
    def config(self) -> TrackerConfig:
        """The configuration in effect, as a dict: ``map``, ``identity``, ``recent_events``,
        ``interest_properties`` and ``limits``.

        Raises:
            ClosedError: The tracker is closed.
        """

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""

    def close(self) -> None:
        """Closes the tracker: stops the wall clock, releases the subscribers and the
        in-memory journeys. Every later call raises :class:`ClosedError`. Closing twice
        does nothing.
        """

    def __enter__(self) -> Tracker:
        """Returns the tracker itself: ``with Tracker(doc) as tracker: ...`` closes it at the
        end of the block.
        """

    def __exit__(self, exc_type: object, exc_value: object, traceback: object, /) -> None:
        """Closes the tracker; an exception raised in the block propagates."""

def backtest(
    doc: MapDocument,
    events: Iterable[Event],
    until: int | datetime | None = None,
    *,
    map: str | None = None,
    recent_events: int = 20,
    interest_properties: Sequence[str] | None = None,
    identity: IdentityRules | None = None,
    limits: Limits | None = None,
) -> list[Action]:
    """Replays a historical log through a map's waypoints in event time, in arrival order,
    on a fresh in-memory tracker, and returns every action that would have fired. It is
    the code path of live tracking, so the result is exactly what a :class:`Tracker`
    given the same events (and :meth:`Tracker.advance` to ``until``) fires.

    Args:
        doc: The map document; it is validated first.
        events: The log, any iterable of event dicts (see :class:`Tracker`).
        until: If given, the clock is finally advanced to this time (an ``int`` of
            microseconds since the epoch, UTC, or an aware ``datetime``), firing the
            deadlines still armed before it.
        map: As for :class:`Tracker`.
        recent_events: As for :class:`Tracker`.
        interest_properties: As for :class:`Tracker`.
        identity: As for :class:`Tracker`.
        limits: As for :class:`Tracker`.

    Returns:
        The actions, in the order they fired.

    Raises:
        LimitError: The batch, or an event of it, is larger than ``limits`` allow;
            ``index`` is the event's position. Nothing of the batch is applied.
        BadEventError: An event is malformed; ``index`` is its position in ``events``.
            Nothing is replayed.
        ValidationError: The document has problems.
        NotFoundError: No map has the id ``map``.
        ParseError: ``identity`` is malformed.
        TypeError: An event is not a dict, or ``until`` is neither an ``int`` nor a
            ``datetime``.
        ValueError: ``until`` is a naive ``datetime``.
    """

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
            ``emotion``, ``bad_event``, ``limit``, ``storage``, ``conflict``, ``closed``,
            ``not_found``, ``io`` or ``internal`` (and, for errors of kinds this version of
            the binding has no class for yet, their core name).
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

class BadEventError(JourneyError, ValueError):
    """An event is malformed; nothing of it (or of its batch) was applied. Also a
    :class:`ValueError`.

    Attributes:
        index: The position of the bad event in its batch, or ``None`` for a single event.
        field: The field at fault (``ts``, ``keys[0]``, ``rating``...); empty for the
            whole event.
        message: What is wrong (the exception's text adds the index and the field).
    """

    index: int | None
    field: str
    message: str

class StorageError(JourneyError):
    """A storage backend failed; nothing of the operation was applied.

    Attributes:
        message: What failed.
        source: The backend's own error, as text, or ``None`` (also appended to the
            exception's text).
    """

    message: str
    source: str | None

class ConflictError(JourneyError):
    """An operation was refused because it would break an identity rule, e.g.
    unlinking two keys that are not linked.

    Attributes:
        message: Why.
    """

    message: str

class ClosedError(JourneyError):
    """The tracker (or store) was closed; every call on it raises this.

    Attributes:
        what: What was closed: ``tracker`` or ``store``.
    """

    what: str

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

class LimitError(JourneyError, ValueError):
    """An input is larger than a limit allows (an event, a batch); nothing of it (or
    of its batch) was applied. Also a :class:`ValueError`.

    Attributes:
        limit: The limit broken, by its name in the tracker's ``limits``
            (``event_name_len``, ``batch_size``...).
        max: The limit's value.
        value: The value found (a length in bytes, a count or a depth).
        field: The field at fault (``event``, ``keys[3]``, ``properties.cart``,
            ``events``...).
        index: The position of the event in its batch, or ``None``.
    """

    limit: str
    max: int
    value: int
    field: str
    index: int | None

class InternalError(JourneyError):
    """A bug in journey-core: Rust code panicked. The panic was caught, so the
    interpreter goes on; the operation may have been applied in part. Please report it
    with the message.

    Attributes:
        message: The panic's message.
    """

    message: str

def from_bench_design(text: str) -> MapDocument:
    """Reads a design in the benchmark kit's format (``design.json``) as a map document.

    Raises:
        ParseError: The text is not a valid design.
    """

@final
class Table:
    """One table of an analytics result: named, typed columns (integers, floats, text,
    booleans, timestamps in UTC, durations) and metadata (``options``: the JSON of the
    options the result was computed with).

    It converts in one call, without copying row by row: :meth:`to_arrow` (a
    ``pyarrow.Table``), :meth:`to_pandas`, :meth:`to_polars`; any library that reads the
    Arrow PyCapsule interface takes it directly (``pyarrow.table(t)``,
    ``polars.DataFrame(t)``, ``duckdb``...). In Jupyter it shows as an HTML table.
    """

    @property
    def name(self) -> str:
        """The table's name, e.g. ``funnel_steps``."""

    @property
    def column_names(self) -> list[str]:
        """The column names, in order."""

    @property
    def num_rows(self) -> int:
        """The number of rows."""

    @property
    def metadata(self) -> dict[str, str]:
        """The metadata: ``options`` (JSON text) and any other entries."""

    def to_arrow(self) -> Any:
        """The table as a ``pyarrow.Table`` (needs pyarrow): timestamps are
        ``timestamp[us, tz=UTC]``, durations ``duration[us]``.

        Raises:
            ImportError: pyarrow is not installed.
        """

    def to_pandas(self) -> Any:
        """The table as a ``pandas.DataFrame`` (needs pandas and pyarrow): timestamps are
        ``datetime64[us, UTC]``, durations ``timedelta64[us]``.

        Raises:
            ImportError: pandas or pyarrow is not installed.
        """

    def to_polars(self) -> Any:
        """The table as a ``polars.DataFrame`` (needs polars, not pyarrow): timestamps are
        ``Datetime("us", "UTC")``, durations ``Duration("us")``.

        Raises:
            ImportError: polars is not installed.
        """

    def __arrow_c_schema__(self) -> object:
        """The Arrow schema, as a PyCapsule (the Arrow PyCapsule interface)."""

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        """The table as an Arrow C stream, in a PyCapsule (the Arrow PyCapsule interface)."""

    def __len__(self) -> int:
        """The number of rows."""

    def _repr_html_(self) -> str:
        """An HTML table of the first 50 rows, for Jupyter."""

    def to_text(self, max_rows: int | None = None) -> str:
        """The table as aligned text.

        Args:
            max_rows: The most rows shown; all when ``None``.
        """

@final
class AnalysisResult:
    """The result of a measure: its fields as attributes (``funnel.converted``,
    ``funnel.steps``...; nested values are plain dicts and lists, times ``int``
    microseconds), its tables, and conversions of its main table.

    Every result carries the options it was computed with (``result.options``).
    """

    @property
    def kind(self) -> str:
        """What measure this is: ``funnel``, ``reach``, ``emotion``..."""

    def to_dict(self) -> dict[str, Any]:
        """The result's fields, as a dict."""

    def to_json(self) -> str:
        """The result as canonical JSON text (sorted keys, the benchmark kit's format)."""

    @property
    def tables(self) -> dict[str, Table]:
        """Every table of the result, by name, in order; the first is the main one."""

    @property
    def table(self) -> Table:
        """The main table.

        Raises:
            AttributeError: The result has no table.
        """

    def to_arrow(self) -> Any:
        """The main table as a ``pyarrow.Table`` (see :meth:`Table.to_arrow`)."""

    def to_pandas(self) -> Any:
        """The main table as a ``pandas.DataFrame`` (see :meth:`Table.to_pandas`)."""

    def to_polars(self) -> Any:
        """The main table as a ``polars.DataFrame`` (see :meth:`Table.to_polars`)."""

    def __getattr__(self, name: str) -> Any:
        """A field of the result (``result.steps``, ``result.options``...)."""

    def __dir__(self) -> list[str]:
        """The field names, with the methods."""

    def _repr_html_(self) -> str:
        """The tables as HTML, for Jupyter."""

_Duration = int | timedelta
_Steps = Sequence[str | Sequence[str]]
_Level = Literal["event", "touchpoint", "phase"]

@final
class Analysis:
    """Journeys checked against a map: events stitched into one journey per customer, every
    measure of journey analytics a method. Build one with :meth:`from_arrow` (pandas,
    polars, pyarrow...), :meth:`from_parquet`, :meth:`from_csv`, :meth:`from_tracker` or
    :meth:`from_events`.

    Every measure returns an :class:`AnalysisResult`: its fields as attributes, its tables
    as :class:`Table` s (``to_pandas()``, ``to_polars()``, ``to_arrow()``). The interpreter
    is released while a measure runs; an ``Analysis`` can be used from several threads.

    The options shared by the constructors:

    Args:
        map: The id of the map to check journeys against; the document's first when ``None``.
        identity: Identity rules as for :class:`Tracker` (levels and limits); the
            tracker's defaults when ``None``.
        identity_limits: ``False`` applies every identity link, ignoring limits (the
            benchmark's stitching).
        properties: The event properties kept for breakdowns; every other column when ``None``.
    """

    @staticmethod
    def from_arrow(
        doc: MapDocument,
        events: Any,
        *,
        links: Any | None = None,
        mapping: ColumnMapping | None = None,
        map: str | None = None,
        identity: IdentityRules | None = None,
        identity_limits: bool = True,
        properties: Sequence[str] | None = None,
        progress: bool = False,
    ) -> Analysis:
        """An analysis of Arrow data: a pyarrow ``Table`` / ``RecordBatch`` /
        ``RecordBatchReader``, a polars or pandas ``DataFrame``, or anything with
        ``__arrow_c_stream__``. Read batch by batch through the Arrow C interface.

        Args:
            doc: The map document.
            events: The events (default columns: ``ts``, ``seq``, ``customer_key`` or
                ``key``, ``event``, ``channel``, ``department``, ``csat`` / ``nps`` /
                ``rating``; every other column is an event property).
            links: Identity links given apart from events (columns ``key_a``, ``key_b``,
                ``ts``), as Arrow data.
            mapping: Which column holds what (see :class:`journey_core.types.ColumnMapping`).
            progress: Show a progress bar (tqdm, if installed).

        Raises:
            BadEventError: A column is missing or of the wrong type, or a value is bad;
                ``field`` names the column.
            ParseError: ``mapping`` is malformed (``path`` names the field).
            TypeError: ``events`` is not Arrow data.
            NotFoundError: No map has the id ``map``.
            KeyboardInterrupt: Interrupted (Ctrl-C) while reading.
        """

    @staticmethod
    def from_parquet(
        doc: MapDocument,
        events: str | os.PathLike[str],
        *,
        links: str | os.PathLike[str] | None = None,
        mapping: ColumnMapping | None = None,
        map: str | None = None,
        identity: IdentityRules | None = None,
        identity_limits: bool = True,
        properties: Sequence[str] | None = None,
    ) -> Analysis:
        """An analysis of a Parquet file of events (the mapped columns are read, row groups in
        parallel), and optionally one of links (``key_a``, ``key_b``, ``ts``).

        Raises:
            JourneyIOError: A file cannot be opened.
            StorageError: A file is not valid Parquet.
            BadEventError: A column is missing or of the wrong type, or a value is bad.
        """

    @staticmethod
    def from_csv(
        doc: MapDocument,
        events: str | os.PathLike[str],
        *,
        links: str | os.PathLike[str] | None = None,
        map: str | None = None,
        identity: IdentityRules | None = None,
        identity_limits: bool = True,
        properties: Sequence[str] | None = None,
    ) -> Analysis:
        """An analysis of a CSV file of events (the default column names; several keys in one
        field separated by ``|``; every other column an event property, as text), and
        optionally one of links (``key_a``, ``key_b``, ``ts``).

        Raises:
            JourneyIOError: A file cannot be read.
            ParseError: A line is malformed (``path`` is ``line N``).
        """

    @staticmethod
    def from_tracker(tracker: Tracker, *, properties: Sequence[str] | None = None) -> Analysis:
        """An analysis of everything a tracker's store holds, with the tracker's map and
        identity rules.

        Raises:
            ClosedError: The tracker is closed.
            StorageError: Reading the store failed.
        """

    @staticmethod
    def from_events(
        doc: MapDocument,
        events: Iterable[Event],
        *,
        links: Sequence[IdentityLink] | None = None,
        map: str | None = None,
        identity: IdentityRules | None = None,
        identity_limits: bool = True,
        properties: Sequence[str] | None = None,
    ) -> Analysis:
        """An analysis of event dicts (as :meth:`Tracker.track` takes them), for small data.

        Raises:
            BadEventError: An event is malformed; ``index`` is its position.
            ParseError: A link is malformed.
        """

    def __len__(self) -> int:
        """The number of journeys (profiles with events)."""

    @property
    def num_events(self) -> int:
        """The number of events."""

    @property
    def map_id(self) -> str:
        """The id of the map journeys are checked against."""

    @property
    def properties(self) -> list[str]:
        """The event properties kept (for ``funnel(steps, by="property:<name>")``)."""

    def profile_of(self, key: str) -> str | None:
        """The canonical key (the smallest) of a key's profile, or ``None`` for a key never seen."""

    def assign_personas(self, assignments: dict[str, str]) -> None:
        """Assigns personas to keys explicitly: a dict ``{key: persona_id}``."""

    def set_attributes(self, attributes: dict[str, dict[str, Any]]) -> None:
        """Gives keys attributes (merged): a dict ``{key: {name: value}}``.

        Raises:
            TypeError: ``attributes`` is not a dict of dicts of JSON-like values.
        """

    def stitch_summary(self) -> AnalysisResult:
        """The stitch summary: keys, profiles, journeys, profiles without events, the largest
        profile, conflicts."""

    def reach(self) -> AnalysisResult:
        """Phase reach: how many journeys reach each phase, and of the previous phase."""

    def reach_by_persona(self) -> AnalysisResult:
        """Phase reach per persona, each over its own journeys."""

    def funnel(
        self,
        steps: _Steps,
        *,
        match: _Level = "event",
        window: _Duration | None = ...,
        now: int | datetime | None = None,
        strict_order: bool = False,
        exclusions: _Steps | None = None,
        per_step_windows: Sequence[_Duration | None] | None = None,
        histogram_edges: Sequence[_Duration] | None = None,
        by: str | None = None,
    ) -> AnalysisResult:
        """A funnel: how many journeys pass each step in order, within a window (default
        one week; ``None`` = unbounded). With ``by`` (``persona``, ``channel``,
        ``first_touchpoint``, ``property:<name>``, ``attribute:<name>``), one funnel per
        group (kind ``funnel_breakdown``).

        Raises:
            ParseError: The options are inconsistent (no step, more than 64, ...);
                ``path`` names the option.
            NotFoundError: A step names no touchpoint or phase (``match``).
            ValueError: ``match`` is not a level, or ``by`` not a dimension.
        """

    def transitions(self, levels: Sequence[_Level] = ...) -> AnalysisResult:
        """Transitions between consecutive names of journeys, at each level asked (default
        all three: ``event``, ``touchpoint``, ``phase``)."""

    def paths(self, *, level: _Level = "event", k: int = 8, top: int = 20, separator: str = ">") -> AnalysisResult:
        """The most frequent paths (consecutive duplicates collapsed, cut to ``k``)."""

    def emotion(self, *, min_count: int = 30) -> AnalysisResult:
        """Measured emotion against the planned emotion, per touchpoint, phase and journey."""

    def emotion_by_persona(self, *, min_count: int = 30) -> AnalysisResult:
        """:meth:`emotion` per persona, each over its own journeys."""

    def gray_areas(self, *, emotion_window: int = 3) -> AnalysisResult:
        """Gray areas: department handoffs and channel switches."""

    def conformance(self) -> AnalysisResult:
        """Conformance to the map: phase order kept, skips, regressions, off-map events."""

    def key_moments(self, *, outcome: str | None = None, min_count: int = 30) -> AnalysisResult:
        """Key moments: touchpoints where a negative rating changes the chance of the outcome
        (``touchpoint:<id>`` or ``phase:<id>``; the map's last phase when ``None``).

        Raises:
            NotFoundError: The outcome names no touchpoint or phase of the map.
        """

    def hypotheses(self, **thresholds: float | int | str | None) -> AnalysisResult:
        """The hypothesis report: every assumption of the map with a verdict; ``str()`` of
        the result is the report as text.

        Raises:
            TypeError: An unknown threshold, or a value of the wrong type.
        """

    def report(
        self,
        *,
        funnel: _Steps | None = None,
        gray_areas_top: int = 5,
        gray_areas_min_occurrences: int = 30,
        **thresholds: float | int | str | None,
    ) -> AnalysisResult:
        """The short report: stitching, reach, a funnel, the top gray areas and the
        hypothesis report; ``str()`` of the result is the report as text."""

    def partials(self, measures: dict[str, Any] | str) -> Partials:
        """The partial state of ``measures`` over this analysis' journeys, to merge with
        the states of other parts of the data (:class:`Partials`). This data must hold
        whole journeys: every event of a profile (on Spark: the profile as the key column,
        see ``journey_core.spark``).

        Args:
            measures: The measures and their options, as a dict (or its JSON text):
                ``reach``, ``reach_by_persona``, ``conformance``, ``stitch`` (booleans);
                ``funnels`` (a list of ``{"steps": [["view"], ["buy"]], "window_us": ...,
                "now_us": ..., "match_on": "event"}``), ``funnel_breakdowns`` (a list of
                ``{"funnel": {...}, "by": "channel"}``), ``transitions`` (a list of levels),
                ``paths``, ``emotion``, ``emotion_by_persona``, ``gray_areas``,
                ``key_moments``, ``hypotheses`` (dicts of options, ``{}`` for the
                defaults); a field left out is not computed. ``quantiles``:
                ``"exact"`` (the default) or ``{"sketch": {"relative_accuracy": 0.01}}``
                to keep times to convert and handoff gaps in a small mergeable sketch
                (medians and p90s within that relative error, reported as
                ``relative_accuracy`` / ``median_gap_relative_accuracy``).

        Raises:
            ParseError: ``measures`` is malformed (``path`` names the field, e.g.
                ``quantiles.relative_accuracy`` outside 0.0001..0.1).
        """

    def results(self, measures: dict[str, Any] | str) -> PartialResults:
        """The measures of ``measures`` (as for :meth:`partials`) in one pass over this
        analysis: what merging and finishing the partial states of any split gives.

        Raises:
            ParseError: ``measures`` is malformed (``path`` names the field).
        """

    def journey_table(self) -> Table:
        """One row per journey: profile, persona, events, times, duration, phases, off-map
        events and per-journey emotion."""

@final
class Partials:
    """A partial state of some measures over part of the journeys (whole journeys: every
    event of a profile in the same part).

    Compute one per part with :meth:`Analysis.partials`, ship it as bytes
    (:meth:`to_bytes`, :meth:`from_bytes`), :meth:`merge` them in any order, then
    :meth:`finish`: the results equal :meth:`Analysis.results` over all the data.
    """

    @staticmethod
    def from_bytes(data: bytes) -> Partials:
        """A state read from bytes written by :meth:`to_bytes` (a versioned format).

        Raises:
            ParseError: The bytes are not a partial state of this format version, or are
                corrupt (``path`` names what is wrong).
        """

    def to_bytes(self) -> bytes:
        """The state as bytes (magic, format version, checksum, payload)."""

    def merge(self, other: Partials) -> None:
        """Merges ``other`` into this state.

        Raises:
            ParseError: The states were computed over another map, with other analysis
                options or other measures (``path`` says which); this state is unchanged.
            ValueError: ``other`` is this state.
        """

    def finish(self) -> PartialResults:
        """The finished measures.

        Raises:
            ParseError: The state does not fit its map (a corrupt payload).
        """

    @property
    def journeys(self) -> int:
        """The journeys counted so far (merged states add up)."""

    @property
    def events(self) -> int:
        """The events counted so far (merged states add up)."""

@final
class PartialResults:
    """The finished measures of a :class:`Partials`: each an :class:`AnalysisResult`
    (``None`` when the measure was not asked for), the same as the :class:`Analysis`
    methods give."""

    @property
    def relative_accuracy(self) -> float | None:
        """``None`` when the medians and percentiles are exact; with a quantile sketch
        (``{"quantiles": {"sketch": {...}}}``), the relative error of their estimates."""
    @property
    def reach(self) -> AnalysisResult | None:
        """Phase reach."""
    @property
    def reach_by_persona(self) -> AnalysisResult | None:
        """Phase reach per persona."""
    @property
    def funnels(self) -> list[AnalysisResult]:
        """The funnels, in the order asked."""
    @property
    def funnel_breakdowns(self) -> list[AnalysisResult]:
        """The funnel breakdowns, in the order asked."""
    @property
    def transitions(self) -> AnalysisResult | None:
        """Transitions."""
    @property
    def paths(self) -> AnalysisResult | None:
        """Top paths."""
    @property
    def emotion(self) -> AnalysisResult | None:
        """Emotion."""
    @property
    def emotion_by_persona(self) -> AnalysisResult | None:
        """Emotion per persona."""
    @property
    def gray_areas(self) -> AnalysisResult | None:
        """Gray areas."""
    @property
    def conformance(self) -> AnalysisResult | None:
        """Conformance."""
    @property
    def key_moments(self) -> AnalysisResult | None:
        """Key moments."""
    @property
    def hypotheses(self) -> AnalysisResult | None:
        """The hypothesis report."""
    @property
    def stitch(self) -> AnalysisResult | None:
        """The stitch summary."""
    def to_dict(self) -> dict[str, AnalysisResult]:
        """Every measure that was computed, as ``{name: result}`` (funnels as ``funnel_0``,
        ``funnel_1``..., breakdowns as ``funnel_breakdown_0``...)."""

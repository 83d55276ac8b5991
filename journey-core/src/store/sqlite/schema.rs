//! The file layout and its forward migrations (`PRAGMA user_version`).
//!
//! Every migration runs inside the one `BEGIN IMMEDIATE` transaction that opens the file,
//! so an upgrade is all or nothing; a file of a newer version than [`CURRENT`] is refused
//! before anything is written to it.

/// `PRAGMA application_id` of a journey-core store: "JRNY".
pub(crate) const APPLICATION_ID: i64 = 0x4A52_4E59;

/// The schema version this build writes.
pub const CURRENT: i64 = 3;

/// Migration `i` brings a file from version `i` to version `i + 1`.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: the tables.
    "
    CREATE TABLE meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
    -- Events, append-only by arrival number; the body is the event as JSON.
    CREATE TABLE events (seq INTEGER PRIMARY KEY, profile INTEGER NOT NULL, ts INTEGER NOT NULL, body TEXT NOT NULL);
    CREATE INDEX events_ts ON events (ts);
    -- Profiles, keys and edges as of the last state checkpoint; the journal holds what changed since.
    CREATE TABLE profiles (
        id INTEGER PRIMARY KEY, level TEXT NOT NULL, events INTEGER NOT NULL, first_ts INTEGER, last_ts INTEGER,
        current_phase INTEGER, furthest_phase INTEGER, persona TEXT, attributes TEXT NOT NULL,
        deadlines TEXT NOT NULL, fired TEXT NOT NULL, state BLOB NOT NULL);
    CREATE TABLE keys (key TEXT PRIMARY KEY, profile INTEGER NOT NULL, pos INTEGER NOT NULL) WITHOUT ROWID;
    CREATE TABLE edges (key TEXT PRIMARY KEY, neighbours TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE journal (n INTEGER PRIMARY KEY, seq INTEGER NOT NULL, next_profile INTEGER NOT NULL, key_pos INTEGER NOT NULL, ops BLOB NOT NULL);
    -- The link log, conflicts and the outbox, written as they happen.
    CREATE TABLE links (n INTEGER PRIMARY KEY, a TEXT NOT NULL, b TEXT NOT NULL, ts INTEGER NOT NULL, event_seq INTEGER,
        outcome TEXT NOT NULL, absorbed INTEGER, profile INTEGER NOT NULL);
    CREATE TABLE conflicts (n INTEGER PRIMARY KEY, key TEXT NOT NULL, other TEXT NOT NULL, ts INTEGER NOT NULL, event_seq INTEGER,
        kind TEXT NOT NULL, lim INTEGER NOT NULL, message TEXT NOT NULL);
    CREATE INDEX conflicts_key ON conflicts (key);
    CREATE INDEX conflicts_other ON conflicts (other);
    -- Pending actions by arrival; their ids are indexed in memory (appending stays cheap).
    CREATE TABLE outbox (n INTEGER PRIMARY KEY, id TEXT NOT NULL, profile INTEGER NOT NULL, ts INTEGER NOT NULL, body TEXT NOT NULL);
    ",
    // 2: views for other tools (SQL over the checkpointed state).
    "
    CREATE VIEW armed_deadlines AS
        SELECT p.id AS profile, json_extract(d.value, '$.waypoint') AS waypoint, json_extract(d.value, '$.armed_at') AS armed_at,
               json_extract(d.value, '$.due') AS due, json_extract(d.value, '$.trigger_seq') AS trigger_seq
        FROM profiles p, json_each(p.deadlines) d;
    CREATE VIEW pending_actions AS
        SELECT n, id, profile, ts, json_extract(body, '$.waypoint') AS waypoint, json_extract(body, '$.kind') AS kind FROM outbox;
    ",
    // 3: merges without rewriting events.
    "
    -- A merge folds profile `absorbed` into `survivor` and leaves the absorbed profile's
    -- events where they are: their profile is read through this table, one level deep (a
    -- survivor absorbed later is followed here too). Splits still move events one by one.
    CREATE TABLE merges (absorbed INTEGER PRIMARY KEY, survivor INTEGER NOT NULL);
    CREATE INDEX merges_survivor ON merges (survivor);
    -- The events with the profile they belong to now: read events through this view.
    CREATE VIEW journey_events AS
        SELECT e.seq AS seq, coalesce(m.survivor, e.profile) AS profile, e.ts AS ts, e.body AS body
        FROM events e LEFT JOIN merges m ON m.absorbed = e.profile;
    ",
];

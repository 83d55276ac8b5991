//! The tables of a PostgreSQL store and their forward migrations.
//!
//! Everything lives in the schema the user names (see [`super::PostgresOptions::schema`]);
//! `schema_version` holds one row with the version. Every migration runs inside the one
//! transaction that opens the store, under the store's advisory lock, so an upgrade is all
//! or nothing and two instances opening at once do not race; a schema of a newer version
//! than [`CURRENT`] is refused before anything is written to it.

/// The schema version this build writes.
pub const CURRENT: i64 = 2;

/// Migration `i` brings a schema from version `i` to version `i + 1`.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: the tables.
    "
    CREATE TABLE counters (seq BIGINT NOT NULL, next_profile BIGINT NOT NULL);
    INSERT INTO counters VALUES (0, 0);
    -- Events by arrival number; the body is the event as JSON text (kept byte for byte).
    CREATE TABLE events (seq BIGINT PRIMARY KEY, profile BIGINT NOT NULL, ts BIGINT NOT NULL, body TEXT NOT NULL);
    CREATE INDEX events_ts ON events (ts, seq);
    CREATE INDEX events_profile ON events (profile, ts, seq);
    -- Profile summaries, one column per field, with persona and attributes.
    CREATE TABLE profiles (
        id BIGINT PRIMARY KEY, level TEXT NOT NULL, events BIGINT NOT NULL, first_ts BIGINT NOT NULL,
        latest_ts BIGINT NOT NULL, latest_seq BIGINT NOT NULL, current_phase INTEGER,
        current_ts BIGINT NOT NULL, current_seq BIGINT NOT NULL, furthest_phase INTEGER, phases BIGINT NOT NULL,
        ratings INTEGER NOT NULL, rating_sum DOUBLE PRECISION NOT NULL, rating_min DOUBLE PRECISION NOT NULL,
        last_rating_ts BIGINT, last_rating_seq BIGINT, last_rating DOUBLE PRECISION,
        persona TEXT, attributes TEXT NOT NULL DEFAULT '{}');
    -- Identity keys in the order they joined their profile.
    CREATE SEQUENCE key_pos;
    CREATE TABLE keys (key TEXT PRIMARY KEY, profile BIGINT NOT NULL, pos BIGINT NOT NULL DEFAULT nextval('key_pos'));
    CREATE INDEX keys_profile ON keys (profile, pos);
    -- Link edges in effect, both directions, in the order they appeared.
    CREATE TABLE edges (a TEXT NOT NULL, b TEXT NOT NULL, pos BIGSERIAL, PRIMARY KEY (a, b));
    -- Armed deadlines (one per profile and waypoint) and caps.
    CREATE SEQUENCE deadline_pos;
    CREATE TABLE deadlines (profile BIGINT NOT NULL, waypoint TEXT NOT NULL, pos BIGINT NOT NULL DEFAULT nextval('deadline_pos'),
        armed_at BIGINT NOT NULL, due BIGINT NOT NULL, trigger_seq BIGINT NOT NULL, trigger_event TEXT NOT NULL,
        PRIMARY KEY (profile, waypoint));
    CREATE INDEX deadlines_due ON deadlines (due, profile, waypoint COLLATE \"C\");
    CREATE TABLE fired (profile BIGINT NOT NULL, waypoint TEXT NOT NULL, pos BIGSERIAL, ts BIGINT NOT NULL, PRIMARY KEY (profile, waypoint));
    -- The link log, conflicts and the outbox, in the order they were written.
    CREATE TABLE links (n BIGSERIAL PRIMARY KEY, a TEXT NOT NULL, b TEXT NOT NULL, ts BIGINT NOT NULL, event_seq BIGINT,
        outcome TEXT NOT NULL, absorbed BIGINT, profile BIGINT NOT NULL);
    CREATE INDEX links_a ON links (a);
    CREATE INDEX links_b ON links (b);
    CREATE TABLE conflicts (n BIGSERIAL PRIMARY KEY, key TEXT NOT NULL, other TEXT NOT NULL, ts BIGINT NOT NULL, event_seq BIGINT,
        kind TEXT NOT NULL, lim BIGINT NOT NULL, message TEXT NOT NULL);
    CREATE INDEX conflicts_key ON conflicts (key);
    CREATE INDEX conflicts_other ON conflicts (other);
    CREATE TABLE outbox (n BIGSERIAL PRIMARY KEY, id TEXT NOT NULL UNIQUE, profile BIGINT NOT NULL, ts BIGINT NOT NULL, body TEXT NOT NULL);
    CREATE INDEX outbox_profile ON outbox (profile);
    ",
    // 2: a generation bumped by every committed write: an instance reuses what it read in
    // its previous write only while nobody else wrote.
    "
    ALTER TABLE counters ADD COLUMN generation BIGINT NOT NULL DEFAULT 0;
    ",
];

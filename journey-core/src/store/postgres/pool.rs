//! A small pool of connections, sized by the user, each with its prepared statements.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use postgres::{Client, NoTls, Statement};

use super::Ctx;
use crate::error::Result;

/// Statements prepared on one connection, by their text.
pub(crate) type Statements = HashMap<&'static str, Statement>;

pub(crate) struct Conn {
    client: Client,
    stmts: Statements,
}

struct Slots {
    idle: Vec<Conn>,
    /// Connections open, idle or leased.
    open: usize,
}

pub(crate) struct Pool {
    config: postgres::Config,
    schema: String,
    size: usize,
    wait: Duration,
    slots: Mutex<Slots>,
    freed: Condvar,
}

impl Pool {
    pub fn new(config: postgres::Config, schema: String, size: usize, wait: Duration) -> Self {
        Pool { config, schema, size, wait, slots: Mutex::new(Slots { idle: Vec::new(), open: 0 }), freed: Condvar::new() }
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// An idle connection, a new one if fewer than `size` are open, or the first one
    /// given back within `wait`.
    pub fn get(&self, ctx: &Ctx) -> Result<Lease<'_>> {
        let deadline = Instant::now() + self.wait;
        let mut slots = self.slots();
        loop {
            if let Some(conn) = slots.idle.pop() {
                if conn.client.is_closed() {
                    slots.open -= 1;
                    continue;
                }
                return Ok(Lease { pool: self, conn: Some(conn) });
            }
            if slots.open < self.size {
                slots.open += 1;
                drop(slots);
                return match self.connect(ctx) {
                    Ok(conn) => Ok(Lease { pool: self, conn: Some(conn) }),
                    Err(e) => {
                        self.slots().open -= 1;
                        self.freed.notify_one();
                        Err(e)
                    }
                };
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(ctx.error(format!(
                    "all {} connections of the pool (pool_size) stayed busy for {} ms (pool_wait); raise pool_size or pool_wait",
                    self.size,
                    self.wait.as_millis()
                )));
            }
            slots = self.freed.wait_timeout(slots, deadline - now).unwrap_or_else(|p| p.into_inner()).0;
        }
    }

    fn connect(&self, ctx: &Ctx) -> Result<Conn> {
        let mut client = self.config.connect(NoTls).map_err(|e| ctx.pg("connecting to the server", e))?;
        let sql = format!("CREATE SCHEMA IF NOT EXISTS \"{0}\"; SET search_path TO \"{0}\"", self.schema);
        if let Err(e) = client.batch_execute(&sql) {
            // Two instances creating the schema at once: one of them may lose the race.
            if !matches!(e.code(), Some(c) if *c == postgres::error::SqlState::UNIQUE_VIOLATION || *c == postgres::error::SqlState::DUPLICATE_SCHEMA) {
                return Err(ctx.pg("creating the schema", e));
            }
            client.batch_execute(&format!("SET search_path TO \"{}\"", self.schema)).map_err(|e| ctx.pg("selecting the schema", e))?;
        }
        // Plan every statement with its actual parameters: a batch's `= ANY($1)` over a
        // thousand keys, planned once generically while the tables were small, would keep
        // scanning whole tables as they grow.
        client.batch_execute("SET plan_cache_mode = force_custom_plan").map_err(|e| ctx.pg("setting plan_cache_mode", e))?;
        Ok(Conn { client, stmts: Statements::new() })
    }
}

/// A connection taken from the pool, given back when dropped.
pub(crate) struct Lease<'a> {
    pool: &'a Pool,
    conn: Option<Conn>,
}

impl Lease<'_> {
    pub fn client(&mut self) -> &mut Client {
        &mut self.conn.as_mut().expect("a lease holds a connection").client
    }

    pub fn parts(&mut self) -> (&mut Client, &mut Statements) {
        let c = self.conn.as_mut().expect("a lease holds a connection");
        (&mut c.client, &mut c.stmts)
    }

    /// Closes the connection instead of giving it back if it was lost or left in doubt.
    pub fn discard_if_broken(&mut self) {
        if let Some(c) = &mut self.conn
            && (c.client.is_closed() || c.client.is_valid(Duration::from_secs(2)).is_err())
        {
            self.conn = None;
            self.pool.slots().open -= 1;
            self.pool.freed.notify_one();
        }
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool.slots().idle.push(conn);
            self.pool.freed.notify_one();
        }
    }
}

// The tracker on PostgreSQL (`Tracker.open` with `postgres`), against a real server:
// reopening, two trackers on one schema, privacy, retention, export and import, analytics,
// key hashing, close releasing the pool, and every bad option.
//
// The server is JOURNEY_CORE_PG_URL (`scripts/postgres.sh start` prints one; tests/run and
// bindings-node/scripts/test.sh start one). Without it the server tests fail, unless
// JOURNEY_CORE_SKIP_POSTGRES=1 (then they are skipped, visibly). Each test works in its
// own fresh schema (`jc_node_<random hex>`), dropped with its tables once the file's tests are done.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';

import journey, { Analysis, Tracker, backtest } from 'journey-core';

import { MIN, T0, ev, rejected, shop, tempDir, thrown } from './helpers.mjs';

const URL = process.env.JOURNEY_CORE_PG_URL?.trim() || null;
const SKIP = process.env.JOURNEY_CORE_SKIP_POSTGRES === '1';
const HOW =
  'JOURNEY_CORE_PG_URL is not set: start a throw-away server with `scripts/postgres.sh start` and export the URL it prints ' +
  '(or point it at an existing server), or set JOURNEY_CORE_SKIP_POSTGRES=1 to skip the PostgreSQL tests';

/** A test that needs the server: fails without JOURNEY_CORE_PG_URL, skipped with JOURNEY_CORE_SKIP_POSTGRES=1. */
function pgTest(name, fn) {
  if (URL) return test(name, fn);
  if (SKIP) return test(name, { skip: 'JOURNEY_CORE_SKIP_POSTGRES=1: PostgreSQL tests skipped' }, () => {});
  return test(name, () => assert.fail(HOW));
}

/** Every schema the tests made, dropped at the end so the server is left as it was found. */
const made = [];
/** A fresh schema name, so that runs never collide. */
const fresh = () => {
  const schema = `jc_node_${randomBytes(6).toString('hex')}`;
  made.push(schema);
  return schema;
};
after(async () => {
  if (URL) for (const schema of made) await journey.__dropPostgresSchemaForTesting(URL, schema);
});
/** Opens a tracker of the shop map on the server, in `schema`. */
const open = (schema, extra = {}) => Tracker.open(shop(), { postgres: URL, schema, ...extra });

const dir = tempDir('journey-core-pg-test-');
const DAY = 24 * 60 * MIN;

/** The anonymous-cart story: the removal fires the callback offer; the add arms the abandoned-cart deadline. */
async function cart(t, session) {
  await t.ingest([ev(T0, session, 'product_view'), ev(T0 + MIN, session, 'add_to_cart'), ev(T0 + 2 * MIN, session, 'remove_from_cart')]);
}

pgTest('a journey tracked, closed and reopened by another tracker on the same schema comes back whole', async () => {
  const schema = fresh();
  const t = await open(schema);
  assert.ok(t instanceof Tracker);
  await cart(t, 'session:s1');
  await t.link('session:s1', 'email:ana@example.com', T0 + 3 * MIN);
  const before = await t.context('email:ana@example.com');
  const pending = await t.pendingActions();
  assert.equal(before.events, 3);
  assert.ok(pending.length >= 1, 'the callback offer is pending');
  assert.ok(before.openWaypoints.length >= 1, 'a deadline is armed');
  await t.close();
  assert.equal((await rejected(t.context('session:s1'))).code, 'E_CLOSED');

  const again = await open(schema);
  assert.deepEqual(await again.context('session:s1'), before);
  assert.deepEqual(await again.pendingActions(), pending);
  assert.equal(await again.count(), 1);
  assert.equal(await again.ack(pending[0].id), true);
  await again.close();
  const other = await open(fresh());
  assert.equal(await other.context('session:s1'), null, 'another schema is another store');
  await other.close();
});

pgTest('two trackers on one schema share customers, and a due deadline fires once across both', async () => {
  const schema = fresh();
  const [a, b] = await Promise.all([open(schema), open(schema, { poolSize: 2 })]);
  await a.track(ev(T0, 'session:x', 'product_view'));
  await b.track(ev(T0 + MIN, ['session:x', 'email:bo@example.com'], 'add_to_cart')); // arms cart_abandoned (30m)
  const seenByA = await a.context('email:bo@example.com');
  assert.equal(seenByA.events, 2);
  assert.deepEqual([...seenByA.keys].sort(), ['email:bo@example.com', 'session:x']);
  assert.ok(seenByA.openWaypoints.some((w) => w.waypoint === 'cart_abandoned'));

  const later = T0 + DAY;
  const [fromA, fromB] = await Promise.all([a.advance(later), b.advance(later)]);
  const missed = [...fromA, ...fromB].filter((x) => x.waypoint === 'cart_abandoned');
  assert.equal(missed.length, 1, JSON.stringify([fromA, fromB]));
  assert.equal(missed[0].outcome, 'missed');
  assert.equal((await b.advance(later + MIN)).length, 0, 'nothing fires twice');
  assert.equal((await a.context('session:x')).openWaypoints.some((w) => w.waypoint === 'cart_abandoned'), false);
  await Promise.all([a.close(), b.close()]);
});

pgTest('forget and deleteBefore work on PostgreSQL', async () => {
  const t = await open(fresh());
  await t.track(ev(T0, ['session:f', 'email:cy@example.com'], 'product_view'));
  await t.track(ev(T0 + 1, 'session:f', 'add_to_cart'));
  await t.ingest([ev(T0, 'session:d', 'product_view'), ev(T0 + 10 * MIN, 'session:d', 'add_to_cart')]);
  const gone = await t.forget('email:cy@example.com');
  assert.equal(gone.events, 2);
  assert.deepEqual([...gone.keys].sort(), ['email:cy@example.com', 'session:f']);
  assert.equal(await t.context('session:f'), null);
  assert.equal(await t.forget('email:cy@example.com'), null, 'an unknown key: null');
  assert.equal(await t.deleteBefore(T0 + MIN), 1);
  assert.equal((await t.journey('session:d')).length, 1);
  assert.equal(await t.count(), 1, 'the profile stays');
  await t.close();
});

pgTest('exportJsonl and importJsonl move a store between memory and PostgreSQL', async () => {
  const memory = new Tracker(shop());
  await cart(memory, 'session:e');
  const file = join(dir, 'memory.jsonl');
  const written = await memory.exportJsonl(file);
  const pg = await open(fresh());
  assert.deepEqual(await pg.importJsonl(file), written);
  assert.deepEqual(await pg.context('session:e'), await memory.context('session:e'));
  assert.deepEqual(await pg.pendingActions(), await memory.pendingActions());
  assert.equal((await rejected(pg.importJsonl(file))).code, 'E_CONFLICT', 'an import needs an empty store');
  const back = join(dir, 'pg.jsonl');
  assert.deepEqual(await pg.exportJsonl(back), written);
  const copy = new Tracker(shop());
  await copy.importJsonl(back);
  assert.deepEqual(await copy.context('session:e'), await memory.context('session:e'));
  await Promise.all([pg.close(), memory.close(), copy.close()]);
});

pgTest('analytics of a PostgreSQL tracker equal those of the same events in memory', async () => {
  const events = [
    ev(T0, 'session:a', 'product_view'),
    ev(T0 + MIN, 'session:a', 'add_to_cart'),
    ev(T0, 'session:b', 'product_view'),
    ev(T0 + 2 * MIN, 'session:b', 'add_to_cart', 'web', { rating: -0.5 }),
    ev(T0 + 5 * MIN, ['session:b', 'email:di@example.com'], 'checkout_start'),
  ];
  const pg = await open(fresh());
  const memory = new Tracker(shop());
  for (const t of [pg, memory]) {
    await t.ingest(events);
    await t.link('session:a', 'email:ana@example.com', T0 + 3 * MIN);
  }
  const [x, y] = await Promise.all([Analysis.fromTracker(pg), Analysis.fromTracker(memory)]);
  assert.equal(x.events, 5);
  assert.equal(x.journeys, y.journeys);
  const funnel = { steps: ['product_view', 'add_to_cart', 'checkout_start'] };
  assert.deepEqual(await x.funnel(funnel), await y.funnel(funnel));
  assert.deepEqual((await x.funnel(funnel)).steps.map((s) => s.journeys), [2, 2, 1]);
  assert.deepEqual(await x.reach(), await y.reach());
  assert.deepEqual(await x.paths(), await y.paths());
  assert.deepEqual(await x.emotion(), await y.emotion());
  await Promise.all([pg.close(), memory.close()]);
});

pgTest('hashSecret stores identity values as keyed hashes on PostgreSQL too', async () => {
  const schema = fresh();
  const secret = { hashSecret: 'a secret of sixteen+ bytes', hashKinds: ['email'] };
  const t = await open(schema, secret);
  await t.track(ev(T0, ['session:h', 'email:ana@example.com'], 'product_view'));
  const ctx = await t.context('email:ana@example.com');
  assert.ok(ctx.keys.includes('session:h'));
  assert.ok(ctx.keys.some((k) => /^email:hmac:[0-9a-f]{64}$/.test(k)), ctx.keys.join());
  const file = join(dir, 'hashed.jsonl');
  await t.exportJsonl(file);
  assert.equal(readFileSync(file, 'utf8').includes('ana@example.com'), false, 'the raw e-mail never reaches the server');
  await t.close();
  const withoutSecret = await open(schema);
  assert.equal(await withoutSecret.context('email:ana@example.com'), null, 'without the secret the raw key finds nothing');
  assert.equal((await withoutSecret.context('session:h')).events, 1);
  await withoutSecret.close();
});

pgTest('close() releases the connections: more trackers than the server allows connections, one after another', async () => {
  // The throw-away server allows 200 connections; each open tracker holds one.
  const schema = fresh();
  const kept = [];
  for (let i = 0; i < 220; i++) {
    const t = await open(schema, { poolSize: 1 });
    if (i === 0) await t.track(ev(T0, 'session:p', 'product_view'));
    assert.equal((await t.context('session:p')).events, 1);
    await t.close();
    kept.push(t); // still referenced: only close() can have released the connection
  }
});

pgTest('a bad schema name is E_PARSE naming schema', async () => {
  for (const schema of ['Bad-Name', 'pg_catalog', '']) {
    const err = await rejected(open(schema));
    assert.equal(err.code, 'E_PARSE', schema);
    assert.equal(err.path, 'schema', schema);
  }
});

pgTest('poolWaitMs, attempts, fetchSize and cacheEntries reach the store and change no result', async () => {
  const schema = fresh();
  const t = await open(schema, { poolWaitMs: 2500, attempts: 2, fetchSize: 2, cacheEntries: 0 });
  await cart(t, 'session:tuned');
  await t.track(ev(T0 + 3 * MIN, 'session:tuned', 'checkout_start'));
  const journey = await t.journey('session:tuned');
  assert.deepEqual(journey.map((e) => e.event), ['product_view', 'add_to_cart', 'remove_from_cart', 'checkout_start']);
  const stats = await t.exportJsonl(join(dir, `tuned-${schema}.jsonl`));
  assert.equal(stats.events, 4, 'a scan two rows at a time reads them all');
  const a = await Analysis.fromTracker(t);
  assert.equal(a.events, 4);
  await t.close();
});

test('an unreachable server is E_STORAGE naming the server', async () => {
  const port = await new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
  const err = await rejected(Tracker.open(shop(), { postgres: `postgres://nobody@127.0.0.1:${port}/none`, schema: fresh() }));
  assert.equal(err.code, 'E_STORAGE');
  assert.ok(err.message.includes(`127.0.0.1:${port}`), err.message);
  const notUrl = await rejected(Tracker.open(shop(), { postgres: 'mysql://x' }));
  assert.equal(notUrl.code, 'E_PARSE');
  assert.equal(notUrl.path, 'url');
});

test('PostgreSQL options are checked, each error naming the option', async () => {
  const pg = 'postgres://nobody@127.0.0.1:1/none';
  const cases = [
    [{ postgres: pg, path: join(dir, 'x.db') }, 'postgres'],
    [{ postgres: '' }, 'postgres'],
    [{ postgres: 42 }, 'postgres'],
    [{ schema: 'journeys' }, 'schema'],
    [{ poolSize: 2 }, 'poolSize'],
    [{ path: join(dir, 'y.db'), schema: 'journeys' }, 'schema'],
    [{ path: join(dir, 'y.db'), poolSize: 2 }, 'poolSize'],
    [{ postgres: pg, poolSize: 0 }, 'poolSize'],
    [{ postgres: pg, poolSize: 1.5 }, 'poolSize'],
    [{ postgres: pg, readOnly: true }, 'readOnly'],
    [{ postgres: pg, durability: 'os' }, 'durability'],
    [{ postgres: pg, cacheMib: 8 }, 'cacheMib'],
    [{ postgres: pg, hashSecret: 'short' }, 'hashSecret'],
    [{ postgres: pg, hashKinds: ['email'] }, 'hashKinds'],
    [{ hashSecret: 'a secret of sixteen+ bytes' }, 'hashSecret'],
    [{ connectTimeoutMs: 1000 }, 'connectTimeoutMs'],
    [{ path: join(dir, 'y.db'), connectTimeoutMs: 1000 }, 'connectTimeoutMs'],
    [{ postgres: pg, connectTimeoutMs: 0 }, 'connectTimeoutMs'],
    [{ postgres: pg, connectTimeoutMs: -1 }, 'connectTimeoutMs'],
    [{ poolWaitMs: 100 }, 'poolWaitMs'],
    [{ path: join(dir, 'y.db'), fetchSize: 10 }, 'fetchSize'],
    [{ attempts: 2 }, 'attempts'],
    [{ cacheEntries: 0 }, 'cacheEntries'],
    [{ postgres: pg, poolWaitMs: 0 }, 'poolWaitMs'],
    [{ postgres: pg, attempts: 0 }, 'attempts'],
    [{ postgres: pg, attempts: 1.5 }, 'attempts'],
    [{ postgres: pg, fetchSize: 0 }, 'fetchSize'],
    [{ postgres: pg, fetchSize: 2 ** 31 }, 'fetchSize'],
    [{ postgres: pg, cacheEntries: -1 }, 'cacheEntries'],
  ];
  for (const [options, field] of cases) {
    const err = await rejected(Tracker.open(shop(), options));
    assert.equal(err.code, 'E_PARSE', JSON.stringify(options));
    assert.equal(err.path, field, JSON.stringify(options));
  }
  const ctor = thrown(() => new Tracker(shop(), { postgres: pg }));
  assert.equal(ctor.code, 'E_PARSE');
  assert.equal(ctor.path, 'postgres');
  assert.match(ctor.message, /Tracker\.open/);
  const bt = await rejected(backtest(shop(), [], null, { postgres: pg }));
  assert.equal(bt.code, 'E_PARSE');
  assert.equal(bt.path, 'postgres');
  const invalid = await rejected(Tracker.open(shop(), { map: 'no-such-map' }));
  assert.equal(invalid.code, 'E_NOT_FOUND');
});

test('Tracker.open also opens memory and SQLite trackers off the event loop', async () => {
  const memory = await Tracker.open(shop());
  await cart(memory, 'session:m');
  assert.equal((await memory.context('session:m')).events, 3);
  await memory.close();
  const path = join(dir, 'open.db');
  const file = await Tracker.open(shop(), { path });
  await cart(file, 'session:q');
  await file.close();
  const again = await Tracker.open(shop(), { path, readOnly: true });
  assert.equal((await again.context('session:q')).events, 3);
  await again.close();
});

// The tracker on SQLite: options, reopening (profiles, armed deadlines, outbox), privacy,
// retention, JSON Lines export and import, close releasing the file, and every error.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { Tracker } from 'journey-core';

import { MIN, T0, ev, rejected, shop, tempDir, thrown } from './helpers.mjs';

const dir = tempDir('journey-core-store-test-');
let files = 0;
/** A fresh database path. */
const db = () => join(dir, `t${files++}.db`);

/** The anonymous-cart story: the removal fires the callback offer; the add arms the abandoned-cart deadline. */
async function cart(t, session) {
  await t.ingest([ev(T0, session, 'product_view'), ev(T0 + MIN, session, 'add_to_cart'), ev(T0 + 2 * MIN, session, 'remove_from_cart')]);
}

test('a tracker on a SQLite file resumes after close: profiles, armed deadlines, outbox', async () => {
  const path = db();
  const t = new Tracker(shop(), { path, durability: 'os' });
  await cart(t, 'session:s1');
  await t.link('session:s1', 'email:ana@example.com', T0 + 3 * MIN);
  const before = await t.context('email:ana@example.com');
  const pending = await t.pendingActions();
  assert.ok(pending.length >= 1, 'the callback offer is pending');
  assert.ok(before.openWaypoints.length >= 1, 'a deadline is armed');
  assert.equal(await t.close(), undefined);

  const again = new Tracker(shop(), { path });
  const after = await again.context('session:s1');
  assert.deepEqual(after, before);
  assert.deepEqual(await again.pendingActions(), pending);
  assert.equal(await again.count(), 1);
  // the armed deadline still fires, from the reopened file
  const missed = await again.advance(T0 + 30 * 24 * 60 * MIN);
  assert.ok(missed.some((a) => a.outcome === 'missed'), JSON.stringify(missed));
  assert.equal(await again.ack(pending[0].id), true);
  await again.close();
  const third = new Tracker(shop(), { path });
  assert.equal((await third.pendingActions()).some((a) => a.id === pending[0].id), false);
  await third.close();
});

test('close() releases the file at once, even with operations in flight', async () => {
  const path = db();
  const t = new Tracker(shop(), { path });
  const inFlight = t.ingest([ev(T0, 'session:x', 'product_view')]);
  const closing = t.close();
  await inFlight.catch(() => {}); // ran before or refused with E_CLOSED: both are fine
  await closing;
  const reopened = new Tracker(shop(), { path }); // no "already open" error
  await reopened.close();
  assert.equal(await t.close(), undefined, 'closing twice does nothing');
});

test('a second writer on the same file is refused with E_STORAGE naming the file', async () => {
  const path = db();
  const t = new Tracker(shop(), { path });
  const err = thrown(() => new Tracker(shop(), { path }));
  assert.equal(err.code, 'E_STORAGE');
  assert.match(err.message, /already open for writing/);
  assert.ok(err.message.includes(path));
  const reader = new Tracker(shop(), { path, readOnly: true });
  await t.ingest([ev(T0, 'session:r', 'product_view')]);
  assert.equal((await reader.context('session:r')).events, 1, 'a read-only tracker follows the writer');
  const refused = await rejected(reader.track(ev(T0, 'session:r', 'product_view')));
  assert.equal(refused.code, 'E_STORAGE');
  assert.match(refused.message, /read-only/);
  await reader.close();
  await t.close();
});

test('hashSecret stores identity values as keyed hashes; lookups by raw key still work', async () => {
  const path = db();
  const t = new Tracker(shop(), { path, hashSecret: 'a secret of sixteen+ bytes', hashKinds: ['email'] });
  await t.track(ev(T0, ['session:h', 'email:ana@example.com'], 'product_view'));
  const ctx = await t.context('email:ana@example.com');
  assert.equal(ctx.keys.length, 2);
  assert.ok(ctx.keys.includes('session:h'));
  assert.ok(ctx.keys.some((k) => /^email:hmac:[0-9a-f]{64}$/.test(k)), ctx.keys.join());
  await t.close();
  assert.equal(readFileSync(path).includes(Buffer.from('ana@example.com')), false, 'the raw e-mail never reaches the file');
});

test('forget removes a profile and scrubs its keys', async () => {
  const t = new Tracker(shop(), { path: db() });
  await t.track(ev(T0, ['session:f', 'email:bo@example.com'], 'product_view'));
  await t.track(ev(T0 + 1, 'session:f', 'add_to_cart'));
  const gone = await t.forget('email:bo@example.com');
  assert.equal(gone.events, 2);
  assert.deepEqual([...gone.keys].sort(), ['email:bo@example.com', 'session:f']);
  assert.equal(typeof gone.profile, 'number');
  assert.equal(await t.context('session:f'), null);
  assert.equal(await t.forget('email:bo@example.com'), null, 'an unknown key: null');
  assert.equal((await rejected(t.forget('no colon'))).code, 'E_PARSE');
  await t.close();
});

test('deleteBefore deletes old events and keeps profiles', async () => {
  const t = new Tracker(shop(), { path: db() });
  await t.ingest([ev(T0, 'session:d', 'product_view'), ev(T0 + 10 * MIN, 'session:d', 'add_to_cart')]);
  assert.equal(await t.deleteBefore(T0 + MIN), 1);
  assert.equal(await t.deleteBefore(new Date((T0 + 60 * MIN) / 1000)), 1, 'a Date works');
  assert.equal((await t.journey('session:d')).length, 0);
  assert.equal(await t.count(), 1, 'the profile stays');
  const err = await rejected(t.deleteBefore('yesterday'));
  assert.equal(err.code, 'E_PARSE');
  assert.equal(err.path, 'before');
  await t.close();
});

test('exportJsonl and importJsonl move a whole store, also from memory to SQLite', async () => {
  const memory = new Tracker(shop());
  await cart(memory, 'session:e');
  const file = join(dir, 'export.jsonl');
  const written = await memory.exportJsonl(file);
  assert.equal(written.events, 3);
  assert.equal(written.profiles, 1);
  assert.ok(written.deadlines >= 1 && written.actions >= 1, JSON.stringify(written));
  const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines[0].type, 'store');

  const durable = new Tracker(shop(), { path: db() });
  assert.deepEqual(await durable.importJsonl(file), written);
  assert.deepEqual(await durable.context('session:e'), await memory.context('session:e'));
  assert.deepEqual(await durable.pendingActions(), await memory.pendingActions());
  const again = await rejected(durable.importJsonl(file));
  assert.equal(again.code, 'E_CONFLICT', 'an import needs an empty store');
  await durable.close();
  await memory.close();
});

test('exportJsonl and importJsonl errors name the file or the line', async () => {
  const t = new Tracker(shop());
  const missing = await rejected(t.importJsonl(join(dir, 'missing.jsonl')));
  assert.equal(missing.code, 'E_IO');
  assert.equal(missing.path, join(dir, 'missing.jsonl'));
  const bad = join(dir, 'bad.jsonl');
  writeFileSync(bad, '{"type":"store","format":"journey-core","version":1,"next_seq":0,"next_profile":1}\nnot json\n');
  const parse = await rejected(t.importJsonl(bad));
  assert.equal(parse.code, 'E_PARSE');
  assert.match(parse.path, /line 2/);
  const unwritable = await rejected(t.exportJsonl(join(dir, 'no-such-folder', 'x.jsonl')));
  assert.equal(unwritable.code, 'E_IO');
  assert.equal(unwritable.path, join(dir, 'no-such-folder', 'x.jsonl'));
  await t.close();
  for (const call of [() => t.forget('session:a'), () => t.deleteBefore(T0), () => t.exportJsonl(bad), () => t.importJsonl(bad)]) {
    assert.equal((await rejected(call())).code, 'E_CLOSED');
  }
});

test('bad store options are E_PARSE naming the option', () => {
  const cases = [
    [{ path: db(), durability: 'disk' }, 'durability'],
    [{ path: db(), hashSecret: 'short' }, 'hashSecret'],
    [{ path: db(), hashKinds: ['email'] }, 'hashKinds'],
    [{ path: db(), maxSize: 12.5 }, 'maxSize'],
    [{ path: db(), busyTimeoutMs: -1 }, 'busyTimeoutMs'],
    [{ path: db(), cacheMib: 0 }, 'cacheMib'],
    [{ path: db(), checkpointBytes: 0 }, 'checkpointBytes'],
    [{ durability: 'os' }, 'durability'],
    [{ readOnly: true }, 'readOnly'],
    [{ path: '' }, 'path'],
    [{ path: 42 }, 'path'],
  ];
  for (const [options, field] of cases) {
    const err = thrown(() => new Tracker(shop(), options));
    assert.equal(err.code, 'E_PARSE', JSON.stringify(options));
    assert.equal(err.path, field, JSON.stringify(options));
  }
});

test('a file that cannot be a store is E_STORAGE naming it', () => {
  const notDb = join(dir, 'not-a-db.db');
  writeFileSync(notDb, 'this is text, not SQLite '.repeat(100));
  const err = thrown(() => new Tracker(shop(), { path: notDb }));
  assert.equal(err.code, 'E_STORAGE');
  assert.ok(err.message.includes(notDb), err.message);
  const noFolder = thrown(() => new Tracker(shop(), { path: join(dir, 'missing', 'x.db') }));
  assert.ok(['E_STORAGE', 'E_IO'].includes(noFolder.code), noFolder.code);
});

test('checkpoint brings the tables up to date and check reports on the file', async () => {
  const t = new Tracker(shop(), { path: db(), checkpointBytes: 2 ** 30 });
  await t.track(ev(T0, ['session:a', 'email:ana@example.com'], 'product_view'));
  await t.checkpoint();
  assert.deepEqual(await t.check(), { profiles: 1, events: 1, keys: 2, problems: [] });
  await t.close();
  assert.equal((await rejected(t.check())).code, 'E_CLOSED');
  assert.equal((await rejected(t.checkpoint())).code, 'E_CLOSED');
  const memory = new Tracker(shop());
  await memory.checkpoint();
  assert.equal(await memory.check(), null, 'no file to check in memory');
  memory.close();
});

test('maxSize refuses a write that would grow the file past it, with E_STORAGE', async () => {
  const t = new Tracker(shop(), { path: db(), maxSize: 64 * 1024 });
  const big = [];
  for (let i = 0; i < 500; i++) big.push(ev(T0 + i, `session:${i}`, 'product_view', 'web', { properties: { note: 'x'.repeat(500) } }));
  const err = await rejected(t.ingest(big));
  assert.equal(err.code, 'E_STORAGE');
  assert.match(err.message, /size limit|full/);
  assert.equal(await t.count(), 0, 'nothing of the batch was applied');
  await t.close();
});

test('backtest refuses a path: it runs in memory', async () => {
  const { backtest } = await import('journey-core');
  const err = await rejected(backtest(shop(), [], null, { path: db() }));
  assert.equal(err.code, 'E_PARSE');
  assert.equal(err.path, 'path');
});

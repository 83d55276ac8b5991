// The tracker's errors, each with the input that causes it: E_BAD_EVENT, E_CONFLICT,
// E_CLOSED, E_STORAGE, and the E_PARSE / E_NOT_FOUND / E_VALIDATION of its arguments.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';

import { ErrorCode, MapDocument, Tracker, backtest } from 'journey-core';

import { MIN, T0, ev, rejected, shop, thrown } from './helpers.mjs';

const require = createRequire(import.meta.url);

test('E_BAD_EVENT: a batch with one bad event names its index and field, and applies nothing', async () => {
  const t = new Tracker(shop());
  const err = await rejected(
    t.trackBatch([ev(T0, 'session:z', 'product_view'), ev(T0 + 1, 'session:z', 'product_view', 'web', { rating: { nps: 11 } })]),
  );
  assert.equal(err.code, 'E_BAD_EVENT');
  assert.equal(err.code, ErrorCode.BadEvent);
  assert.equal(err.index, 1);
  assert.equal(err.field, 'rating');
  assert.equal(err.message, 'bad event at index 1: rating: nps rating 11 is out of range: expected an integer from 0 to 10');
  assert.equal(await t.context('session:z'), null, 'nothing of the batch was applied');
  assert.equal(await t.count(), 0);
});

test('E_BAD_EVENT: every kind of bad field, named', async () => {
  const t = new Tracker(shop());
  const cases = [
    [{ ...ev(T0, 'session:a', 'view'), keys: [] }, 'keys', /at least one identity key/],
    [ev(T0, 'nocolon', 'view'), 'keys[0]', /not of the form kind:value/],
    [ev(T0, 'session:a', ' '), 'event', /must not be empty/],
    [ev(T0, 'session:a', 'view', ''), 'channel', /must not be empty/],
    [ev(T0, 'session:a', 'view', 'web', { rating: { csat: 9 } }), 'rating', /csat rating 9 is out of range/],
    [ev(T0, 'session:a', 'view', 'web', { rating: 'happy' }), 'rating', /invalid value/],
    [ev(T0, 'session:a', 'view', 'web', { properties: [1] }), 'properties', /invalid type/],
    [ev(T0, 'session:a', 'view', 'web', { colour: 'red' }), 'colour', /unknown field `colour`/],
    [ev(T0, 'session:a', 'view', 'web', { properties: { f: () => 1 } }), 'properties.f', /a function has no JSON form/],
    [ev(T0, 'session:a', 'view', 'web', { properties: { x: Number.NaN } }), 'properties.x', /NaN is not a finite number/],
    [ev(T0, 'session:a', 'view', 'web', { properties: { big: 2n ** 70n } }), 'properties.big', /does not fit in 64 bits/],
    // Nested: a batch of plain values takes JSON.stringify's fast path, so these must not.
    [ev(T0, 'session:a', 'view', 'web', { properties: { a: { b: [1, () => 1] } } }), 'properties.a.b[1]', /a function has no JSON form/],
    [ev(T0, 'session:a', 'view', 'web', { properties: { list: [1, Number.POSITIVE_INFINITY] } }), 'properties.list[1]', /is not a finite number/],
    [ev(T0, 'session:a', 'view', 'web', { properties: { a: { s: Symbol('s') } } }), 'properties.a.s', /symbol/],
    [ev(1.5, 'session:a', 'view'), 'ts', /1\.5 is not an integer/],
    [ev(2 ** 60, 'session:a', 'view'), 'ts', /MAX_SAFE_INTEGER/],
    [ev('2025-01-06', 'session:a', 'view'), 'ts', /expected microseconds since the Unix epoch/],
    [ev(new Date(Number.NaN), 'session:a', 'view'), 'ts', /the Date is invalid/],
    // A missing field is a problem of the whole event: the field is empty.
    [{ keys: ['session:a'], event: 'view', channel: 'web' }, '', /missing field `ts`/],
    [null, '', /an event is an object, got null/],
    [['session:a'], '', /got an array/],
  ];
  for (const [event, field, message] of cases) {
    const label = `${field}: ${message}`;
    const err = await rejected(t.track(event));
    assert.equal(err.code, 'E_BAD_EVENT', label);
    assert.equal(err.index, null, label);
    assert.equal(err.field, field, label);
    assert.match(err.message, message, label);
    const sync = thrown(() => t.trackSync(event));
    assert.deepEqual([sync.code, sync.field, sync.message], [err.code, err.field, err.message], label);
    // in a batch (read in one go unless something is unusual): the same error, at its index
    const batch = await rejected(t.trackBatch([ev(T0, 'session:a', 'view'), event]));
    assert.deepEqual([batch.code, batch.index, batch.field], ['E_BAD_EVENT', 1, field], label);
    assert.equal(batch.message, `bad event at index 1: ${err.message.replace(/^bad event: /, '')}`, label);
  }
  const cycle = {};
  cycle.self = cycle;
  const deep = await rejected(t.track(ev(T0, 'session:a', 'view', 'web', { properties: cycle })));
  assert.equal(deep.code, 'E_BAD_EVENT');
  assert.match(deep.field, /^properties(\.self)+$/);
  assert.equal(await t.count(), 0, 'no bad event was stored');
});

test('E_BAD_EVENT: backtest names the bad event of its log', async () => {
  const err = await rejected(backtest(shop(), [ev(T0, 'session:a', 'view'), ev(T0, 'session:a', 'view'), ev(T0, 'x', 'view')]));
  assert.deepEqual([err.code, err.index, err.field], ['E_BAD_EVENT', 2, 'keys[0]']);
});

test('E_LIMIT: an event over a limit names the limit, the value, the field and the index', async () => {
  const t = new Tracker(shop());
  const long = 'n'.repeat(257);
  const one = await rejected(t.track(ev(T0, 'session:l', long)));
  assert.equal(one.code, 'E_LIMIT');
  assert.equal(one.code, ErrorCode.Limit);
  assert.deepEqual(
    { limit: one.limit, max: one.max, value: one.value, field: one.field, index: one.index },
    { limit: 'event_name_len', max: 256, value: 257, field: 'event', index: null },
  );
  assert.equal(one.message, 'limit exceeded: event: 257 bytes, over the limit `event_name_len` of 256');
  const batch = await rejected(t.trackBatch([ev(T0, 'session:l', 'product_view'), ev(T0, 'session:l', 'product_view', 'web', { properties: { note: 'x'.repeat(70000) } })]));
  assert.equal(batch.code, 'E_LIMIT');
  assert.equal(batch.index, 1);
  assert.equal(batch.field, 'properties.note');
  assert.equal(batch.value, 70002);
  assert.equal(await t.context('session:l'), null, 'nothing of the batch was applied');
  assert.throws(() => t.trackSync(ev(T0, 'session:l', long)), { code: 'E_LIMIT', limit: 'event_name_len' });
  // At the bound, accepted.
  await t.track(ev(T0, 'session:l', 'n'.repeat(256)));
});

test('limits are tracker options; keysPerProfile refuses links as conflicts', async () => {
  const t = new Tracker(shop(), { limits: { eventNameLen: 4, batchSize: 2, keysPerProfile: 2 } });
  await t.track(ev(T0, 'session:o', 'view'));
  const err = await rejected(t.track(ev(T0, 'session:o', 'views')));
  assert.deepEqual([err.code, err.limit, err.max, err.value], ['E_LIMIT', 'event_name_len', 4, 5]);
  assert.equal((await rejected(t.trackBatch([ev(T0, 'session:o', 'a'), ev(T0, 'session:o', 'b'), ev(T0, 'session:o', 'c')]))).limit, 'batch_size');
  assert.equal(await t.link('session:o', 'device:o', T0), 'joined');
  assert.equal(await t.link('session:o', 'device:p', T0), 'refused');
  const [conflict] = await t.conflicts();
  assert.equal(conflict.kind, '*');
  assert.equal(conflict.limit, 2);
  assert.throws(() => new Tracker(shop(), { limits: { batch: 1 } }), { code: 'E_PARSE', path: 'limits.batch' });
});

test('E_CONFLICT: unlinking keys that are not linked', async () => {
  const t = new Tracker(shop());
  await t.track(ev(T0, 'email:a@x.com', 'email_open', 'email'));
  await t.track(ev(T0, 'email:b@x.com', 'email_open', 'email'));
  const err = await rejected(t.unlink('email:a@x.com', 'email:b@x.com', T0 + MIN));
  assert.equal(err.code, 'E_CONFLICT');
  assert.equal(err.code, ErrorCode.Conflict);
  assert.match(err.message, /^identity conflict: /);
});

test('E_CLOSED: every call on a closed tracker', async () => {
  const t = new Tracker(shop());
  await t.track(ev(T0, 'session:a', 'product_view'));
  t.close();
  const calls = {
    track: () => t.track(ev(T0, 'session:a', 'view')),
    trackBatch: () => t.trackBatch([ev(T0, 'session:a', 'view')]),
    advance: () => t.advance(T0),
    context: () => t.context('session:a'),
    route: () => t.route('session:a'),
    journey: () => t.journey('session:a'),
    link: () => t.link('session:a', 'email:a@x.com', T0),
    unlink: () => t.unlink('session:a', 'email:a@x.com', T0),
    linkLog: () => t.linkLog('session:a'),
    conflicts: () => t.conflicts(),
    profiles: () => t.profiles(),
    count: () => t.count(),
    pendingActions: () => t.pendingActions(),
    ack: () => t.ack('x'),
    assignPersona: () => t.assignPersona('session:a', null),
    setAttributes: () => t.setAttributes('session:a', {}),
  };
  for (const [name, call] of Object.entries(calls)) {
    const err = await rejected(call());
    assert.equal(err.code, 'E_CLOSED', name);
    assert.equal(err.code, ErrorCode.Closed, name);
    assert.equal(err.what, 'tracker', name);
    assert.equal(err.message, 'the tracker is closed', name);
  }
  for (const [name, call] of Object.entries({
    trackSync: () => t.trackSync(ev(T0, 'session:a', 'view')),
    contextSync: () => t.contextSync('session:a'),
    routeSync: () => t.routeSync('session:a'),
    on: () => t.on('action', () => {}),
    startClock: () => t.startClock(10),
  })) {
    assert.throws(call, { code: 'E_CLOSED', what: 'tracker' }, name);
  }
  t.off('action', () => {});
  t.stopClock();
  t.close();
});

test('E_STORAGE: a failing store, with the backend error in the message', () => {
  // The in-memory store never fails: a hidden hook throws the error a failing store gives.
  const err = thrown(() => require('journey-core').__storageErrorForTesting());
  assert.equal(err.code, 'E_STORAGE');
  assert.equal(err.code, ErrorCode.Storage);
  assert.equal(err.message, 'storage: cannot write the journal: disk full');
});

test('E_PARSE: malformed keys, times, options and filters name their path', async () => {
  const t = new Tracker(shop());
  for (const [call, path, message] of [
    [() => t.context('nocolon'), 'key', /not of the form kind:value/],
    [() => t.journey('Email:x'), 'key', /has kind "Email"/],
    [() => t.linkLog(''), 'key', /not of the form/],
    [() => t.link('session:a', 'b', T0), 'b', /not of the form/],
    [() => t.unlink('a', 'session:b', T0), 'a', /not of the form/],
    [() => t.link('session:a', 'session:b', 'yesterday'), 'ts', /expected microseconds/],
    [() => t.advance(1.25), 'now', /not an integer/],
    [() => t.advance(undefined), 'now', /missing/],
    [() => t.assignPersona('x', null), 'key', /not of the form/],
    [() => t.setAttributes('session:a', 'text'), 'attributes', /expected an object/],
    [() => t.setAttributes('session:a', { f: Symbol('s') }), 'attributes.f', /a symbol has no JSON form/],
    [() => t.profiles({ notreached: 'purchase' }), 'notreached', /unknown field `notreached`, expected one of/],
    [() => t.count({ level: 'vip' }), 'level', /unknown variant `vip`/],
    [() => t.count('everyone'), 'filter', /expected an object, got "everyone"/],
    [() => backtest(shop(), [], 'soon'), 'until', /expected microseconds/],
    [() => backtest(shop(), [], null, { recentEvent: 1 }), 'recentEvent', /unknown field/],
  ]) {
    const err = await rejected(call());
    assert.equal(err.code, 'E_PARSE', path);
    assert.equal(err.path, path);
    assert.match(err.message, message, path);
  }
  assert.throws(() => t.contextSync('nokind'), { code: 'E_PARSE', path: 'key' });
  for (const [options, path, message] of [
    [{ recentEvent: 3 }, 'recentEvent', /unknown field `recentEvent`, expected one of `map`, `recentEvents`, `interestProperties`, `identity`/],
    [{ recentEvents: 'ten' }, 'recentEvents', /invalid type/],
    [{ identity: { levels: { email: 'admin' } } }, 'identity.levels.email', /unknown variant `admin`/],
    [{ identity: { default_level: 'identified' } }, 'identity.default_level', /unknown field/],
    [{ identity: { limits: { customer: -1 } } }, 'identity.limits.customer', /invalid value/],
    [42, 'options', /expected an object, got 42/],
  ]) {
    const err = thrown(() => new Tracker(shop(), options));
    assert.equal(err.code, 'E_PARSE', path);
    assert.equal(err.path, path);
    assert.match(err.message, message, path);
  }
  assert.throws(() => t.on('click', () => {}), { code: 'E_PARSE', path: 'event' });
  assert.throws(() => t.off('click', () => {}), { code: 'E_PARSE', path: 'event' });
  for (const interval of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => t.startClock(interval), { code: 'E_PARSE', path: 'intervalMs' }, String(interval));
  }
});

test('E_NOT_FOUND: an unknown map, phase or key', async () => {
  assert.throws(() => new Tracker(shop(), { map: 'nope' }), { code: 'E_NOT_FOUND', what: 'map', id: 'nope' });
  const t = new Tracker(shop());
  const phase = await rejected(t.profiles({ reached: 'nowhere' }));
  assert.deepEqual([phase.code, phase.what, phase.id], ['E_NOT_FOUND', 'phase', 'nowhere']);
  assert.equal((await rejected(t.count({ currentPhase: 'nowhere' }))).code, 'E_NOT_FOUND');
  const key = await rejected(t.assignPersona('email:nobody@x.com', 'x'));
  assert.deepEqual([key.code, key.what, key.id], ['E_NOT_FOUND', 'identity key', 'email:nobody@x.com']);
  assert.equal((await rejected(t.setAttributes('email:nobody@x.com', { a: 1 }))).code, 'E_NOT_FOUND');
});

test('E_VALIDATION: a tracker refuses an invalid map', async () => {
  const doc = JSON.parse(shop().toJson());
  doc.maps[0].waypoints[0].condition = { touchpoint: 'nowhere' };
  const invalid = MapDocument.fromJson(JSON.stringify(doc));
  const err = thrown(() => new Tracker(invalid));
  assert.equal(err.code, 'E_VALIDATION');
  assert.ok(err.problems.some((p) => p.path.startsWith('maps[0].waypoints[0]')), JSON.stringify(err.problems));
  assert.equal((await rejected(backtest(invalid, []))).code, 'E_VALIDATION');
});

test('wrong argument types are napi errors, not crashes', () => {
  const t = new Tracker(shop());
  assert.throws(() => new Tracker({}));
  assert.throws(() => t.context(42));
  assert.throws(() => t.trackBatch('not an array'));
  assert.throws(() => t.on('action', 'not a function'));
});

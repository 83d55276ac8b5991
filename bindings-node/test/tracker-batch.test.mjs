// Bulk tracking: `ingest` (a summary per batch), event writes applied in call order even
// when not awaited, and the fast event conversion agreeing with the checked one.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Tracker } from 'journey-core';

import { MIN, T0, ev, rejected, shop } from './helpers.mjs';

test('ingest resolves to a summary of the batch', async () => {
  const t = new Tracker(shop());
  const summary = await t.ingest([
    ev(T0, 'session:i', 'product_view'),
    ev(T0 + MIN, 'session:i', 'add_to_cart'),
    ev(T0 + 2 * MIN, 'session:i', 'remove_from_cart'),
    ev(T0 + 3 * MIN, 'session:i', 'not_on_the_map'),
  ]);
  assert.deepEqual({ ...summary, actions: summary.actions.map((a) => [a.waypoint, a.outcome, a.kind]) }, {
    events: 4,
    firstSeq: 0,
    lastSeq: 3,
    offMap: 1,
    actions: [['anonymous_cart_callback', 'reached', 'callback_offer']],
  });
  assert.deepEqual(await t.ingest([]), { events: 0, firstSeq: null, lastSeq: null, offMap: 0, actions: [] });
  const bad = await rejected(t.ingest([ev(T0, 'session:i', 'x'), { ...ev(T0, 'session:i', 'x'), typo: 1 }]));
  assert.equal(bad.code, 'E_BAD_EVENT');
  assert.equal(bad.index, 1);
  assert.equal(bad.field, 'typo');
  assert.equal((await t.context('session:i')).events, 4, 'nothing of a refused batch is applied');
  await t.close();
  assert.equal((await rejected(t.ingest([]))).code, 'E_CLOSED');
});

test('trackBatch resolves to the objects track resolves to, event for event', async () => {
  const events = [
    ev(T0, 'session:p', 'product_view'),
    ev(T0 + 1, 'session:q', 'add_to_cart', 'mobile_app'),
    ev(T0 + 2, 'session:q', 'remove_from_cart', 'mobile_app'),
    ev(T0 + 3, 'session:r', 'not_on_the_map', 'phone'),
    ev(T0 + 10 * MIN, ['session:p', 'email:p@example.com'], 'checkout_start', 'web', { properties: { value: 5 } }),
    ev(T0 + 11 * MIN, 'session:q', 'remove_from_cart', 'mobile_app'),
  ];
  const batched = new Tracker(shop());
  const single = new Tracker(shop());
  const results = await batched.trackBatch(events);
  const one = [];
  for (const e of events) one.push(await single.track(e));
  assert.deepEqual(results, one);
  const fired = results.flatMap((r) => r.actions.map((a) => a.outcome));
  assert.ok(fired.includes('reached') && fired.includes('missed'), fired.join());
  assert.equal(results[3].touchpoint, null);
  assert.equal(results[3].phase, null);
  assert.notEqual(results[0].actions, results[3].actions, 'each result has its own list');
  await batched.close();
  await single.close();
});

test('event writes apply in call order even when not awaited one by one', async () => {
  const t = new Tracker(shop());
  const calls = [];
  for (let i = 0; i < 40; i++) {
    const e = ev(T0 + i, 'session:o', 'product_view', 'web', { properties: { i } });
    calls.push(i % 3 === 0 ? t.track(e) : i % 3 === 1 ? t.ingest([e]) : t.trackBatch([e]));
  }
  const bad = rejected(t.ingest([{ nope: true }])); // a refused call in the middle does not stall the rest
  calls.push(t.track(ev(T0 + 40, 'session:o', 'product_view', 'web', { properties: { i: 40 } })));
  await Promise.all(calls);
  assert.equal((await bad).code, 'E_BAD_EVENT');
  const journey = await t.journey('session:o');
  assert.deepEqual(journey.map((e) => e.properties.i), [...Array(41).keys()]);
  assert.deepEqual(journey.map((e) => e.seq), [...Array(41).keys()], 'arrival order is call order');
  await t.close();
});

test('every form of an event field is stored as given', async () => {
  const t = new Tracker(shop());
  const events = [
    { ts: T0, keys: ['session:f', 'email:f@example.com'], event: 'product_view', channel: 'web', department: 'sales', rating: { csat: 4 }, properties: { nested: { list: [1, 'two', null, true] }, n: 1.5 } },
    { ts: BigInt(T0 + 1), keys: ['session:f'], event: 'add_to_cart', channel: 'mobile_app', department: null, rating: 'negative', properties: undefined },
    { ts: new Date((T0 + 2000) / 1000), keys: ['session:f'], event: 'support_call', channel: 'phone', rating: -0.5, extra: undefined },
    { ts: T0 + 3000, keys: ['session:f'], event: 'checkout_start', channel: 'web', rating: null, properties: { when: new Date(0) } },
  ];
  await t.ingest(events);
  const stored = (await t.journey('session:f')).map(({ seq, profile, ...e }) => e);
  assert.deepEqual(stored, [
    { ts: T0, keys: ['session:f', 'email:f@example.com'], event: 'product_view', channel: 'web', department: 'sales', rating: { csat: 4 }, properties: { nested: { list: [1, 'two', null, true] }, n: 1.5 } },
    { ts: T0 + 1, keys: ['session:f'], event: 'add_to_cart', channel: 'mobile_app', department: null, rating: 'negative', properties: {} },
    { ts: T0 + 2000, keys: ['session:f'], event: 'support_call', channel: 'phone', department: null, rating: -0.5, properties: {} },
    { ts: T0 + 3000, keys: ['session:f'], event: 'checkout_start', channel: 'web', department: null, rating: null, properties: { when: '1970-01-01T00:00:00.000Z' } },
  ]);
  // what the fast path must not accept, the checked path refuses with the field
  for (const [event, field] of [
    [{ ...ev(T0, 'session:f', 'x'), rating: { csat: 9 } }, 'rating'],
    [{ ...ev(T0, 'session:f', 'x'), keys: ['session:f', 5] }, 'keys[1]'],
    [{ ...ev(T0, 'session:f', 'x'), keys: ['nokind'] }, 'keys[0]'],
    [{ ...ev(T0, 'session:f', 'x'), properties: [1] }, 'properties'],
    [{ ...ev(T0, 'session:f', 'x'), department: 7 }, 'department'],
    [{ ...ev(T0, 'session:f', 'x'), ts: 1.5 }, 'ts'],
    [{ ...ev(T0, 'session:f', 'x'), event: '' }, 'event'],
  ]) {
    const err = await rejected(t.ingest([event]));
    assert.equal(err.code, 'E_BAD_EVENT', JSON.stringify(event));
    assert.equal(err.field, field, JSON.stringify(event));
  }
  await t.close();
});

test('a batch read in one go stores exactly what event-by-event tracking stores', async () => {
  class Money {
    constructor(cents) { this.cents = cents; }
    toJSON() { return { amount: this.cents / 100, currency: 'EUR' }; }
  }
  const events = [
    ev(T0, 'session:g', 'product_view', 'web', { properties: { big: 2 ** 60, neg: -(2 ** 55), safe: 2 ** 53 - 1, huge: 1e21, tiny: 5e-324, zero: -0, f: 0.1 } }),
    ev(T0 + 1, 'session:g', 'add_to_cart', 'web', { properties: { list: [1, undefined, 'ü€𝄞', { a: null }], price: new Money(1999), at: new Date(0), skip: undefined } }),
    ev(T0 + 2, ['session:g', 'email:g@example.com'], 'checkout_start', 'web', { department: 'sales', rating: { nps: 9 } }),
  ];
  const batched = new Tracker(shop());
  const single = new Tracker(shop());
  await batched.trackBatch(events);
  for (const e of events) await single.track(e);
  const journey = async (t) => (await t.journey('session:g')).map(({ profile, ...e }) => e);
  assert.deepEqual(await journey(batched), await journey(single));
  const [first, second] = await journey(batched);
  assert.deepEqual(first.properties, { big: 2 ** 60, neg: -(2 ** 55), safe: 2 ** 53 - 1, huge: 1e21, tiny: 5e-324, zero: 0, f: 0.1 });
  assert.deepEqual(second.properties, { list: [1, null, 'ü€𝄞', { a: null }], price: { amount: 19.99, currency: 'EUR' }, at: '1970-01-01T00:00:00.000Z' });
  // a cycle or a bigint property cannot be serialised: the batch is read event by event
  const cycle = {};
  cycle.self = cycle;
  assert.match((await rejected(batched.trackBatch([events[0], ev(T0, 'session:g', 'x', 'web', { properties: cycle })]))).field, /^properties(\.self)+$/);
  await batched.trackBatch([ev(T0 + 3, 'session:g', 'x', 'web', { properties: { n: 7n } })]);
  assert.deepEqual((await batched.journey('session:g')).at(-1).properties, { n: 7 });
  await batched.close();
  await single.close();
});

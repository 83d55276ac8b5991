// Tracker: one test per method, with the stories of the shop map.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { MapDocument, Tracker, backtest } from 'journey-core';

import { MIN, T0, ev, quickMap, rejected, settle, shop, waitFor } from './helpers.mjs';

/** The anonymous-cart story: view, add, remove (fires the callback offer). */
async function anonymousCart(t, session = 'session:s1') {
  await t.track(ev(T0, session, 'product_view'));
  await t.track(ev(T0 + MIN, session, 'add_to_cart'));
  return t.track(ev(T0 + 2 * MIN, session, 'remove_from_cart'));
}

test('new Tracker takes a document and options', () => {
  const t = new Tracker(shop());
  assert.ok(t instanceof Tracker);
  assert.equal(t.closed, false);
  const configured = new Tracker(shop(), {
    map: 'shop',
    recentEvents: 2,
    interestProperties: ['topic'],
    identity: { levels: { member: 'authenticated' }, defaultLevel: 'identified', limits: { member: 1 } },
  });
  assert.equal(configured.closed, false);
  assert.ok(new Tracker(shop(), {}) && new Tracker(shop(), undefined) && new Tracker(shop(), null));
});

test('track resolves to what tracking did', async () => {
  const t = new Tracker(shop());
  const first = await t.track(ev(T0, 'session:a', 'product_view'));
  assert.deepEqual(first, { seq: first.seq, profile: first.profile, touchpoint: 'product_page', phase: 'consideration', actions: [] });
  const second = await t.track(ev(T0 + 1, 'session:a', 'add_to_cart', 'web', { properties: { cart_value: 99 } }));
  assert.ok(second.seq > first.seq);
  assert.equal(second.profile, first.profile);
  const removed = await t.track(ev(T0 + 2, 'session:a', 'remove_from_cart'));
  assert.equal(removed.actions.length, 1);
  const [action] = removed.actions;
  assert.deepEqual(
    { ...action, why: { ...action.why } },
    {
      id: action.id,
      profile: first.profile,
      waypoint: 'anonymous_cart_callback',
      outcome: 'reached',
      kind: 'callback_offer',
      payload: { script: 'cart_help' },
      ts: T0 + 2,
      why: {
        eventSeq: removed.seq,
        event: 'remove_from_cart',
        condition: { all: [{ event: 'remove_from_cart' }, { level: 'anonymous' }] },
        deadline: null,
      },
    },
  );
  const offMap = await t.track(ev(T0 + 3, 'session:a', 'callback_requested'));
  assert.equal(offMap.touchpoint, null, 'an off-map event is kept and flagged');
  assert.equal(offMap.phase, null);
});

test('track takes the time as a number, a bigint or a Date', async () => {
  const t = new Tracker(shop());
  await t.track(ev(T0, 'session:t', 'product_view'));
  await t.track(ev(BigInt(T0) + 1n, 'session:t', 'product_view'));
  await t.track(ev(new Date((T0 + 2000) / 1000), 'session:t', 'product_view'));
  assert.deepEqual((await t.journey('session:t')).map((e) => e.ts), [T0, T0 + 1, T0 + 2000]);
});

test('track keeps every field of the event', async () => {
  const t = new Tracker(shop());
  const when = new Date(Date.UTC(2025, 0, 6));
  await t.track({
    ts: T0,
    keys: ['session:f', 'email:f@example.com'],
    event: 'survey',
    channel: 'email',
    department: 'support',
    rating: { csat: 4 },
    properties: { topic: 'delivery', nested: { list: [1, 2.5, 'x', null, undefined] }, when, gone: undefined, big: 12n },
  });
  const [stored] = await t.journey('email:f@example.com');
  assert.deepEqual(stored, {
    seq: stored.seq,
    profile: stored.profile,
    ts: T0,
    keys: ['session:f', 'email:f@example.com'],
    event: 'survey',
    channel: 'email',
    department: 'support',
    rating: { csat: 4 },
    properties: { topic: 'delivery', nested: { list: [1, 2.5, 'x', null, null] }, when: when.toISOString(), big: 12 },
  });
  for (const rating of ['positive', 0.5, -1, { nps: 9 }, { score: -0.25 }]) {
    await t.track(ev(T0 + 1, 'session:r', 'survey', 'email', { rating }));
  }
  const ctx = await t.context('session:r');
  assert.deepEqual(ctx.recent.map((e) => e.rating), ['positive', 0.5, -1, { nps: 9 }, -0.25]);
  assert.equal(ctx.emotion.ratings, 5);
});

test('trackSync tracks on the calling thread', () => {
  const t = new Tracker(shop());
  const tracked = t.trackSync(ev(T0, 'session:s', 'add_to_cart'));
  assert.equal(tracked.touchpoint, 'cart');
  assert.equal(t.trackSync(ev(T0 + 1, 'session:s', 'remove_from_cart')).actions[0].kind, 'callback_offer');
  assert.equal(t.contextSync('session:s').events, 2);
});

test('trackBatch tracks in array order, in one transaction', async () => {
  const t = new Tracker(shop());
  const results = await t.trackBatch([
    ev(T0, 'session:b', 'product_view'),
    ev(T0 + MIN, 'session:b', 'add_to_cart'),
    ev(T0 + 2 * MIN, 'session:b', 'remove_from_cart'),
  ]);
  assert.deepEqual(results.map((r) => r.touchpoint), ['product_page', 'cart', 'cart']);
  assert.ok(results[0].seq < results[1].seq && results[1].seq < results[2].seq);
  assert.deepEqual(results[2].actions.map((a) => a.waypoint), ['anonymous_cart_callback']);
  assert.deepEqual(await t.trackBatch([]), []);
});

test('advance fires the deadlines due strictly before now', async () => {
  const t = new Tracker(shop());
  await t.track(ev(T0, 'session:w', 'product_view'));
  assert.deepEqual(await t.advance(T0 + 2 * MIN), [], 'the deadline edge is inclusive');
  const fired = await t.advance(new Date((T0 + 3 * MIN) / 1000));
  assert.deepEqual(
    fired.map((a) => [a.waypoint, a.outcome, a.kind, a.ts]),
    [['waiting_on_product', 'missed', 'chat_offer', T0 + 2 * MIN]],
  );
  assert.deepEqual(fired[0].why.deadline, [T0, T0 + 2 * MIN]);
  assert.equal(fired[0].why.event, 'product_view');
  assert.deepEqual(fired[0].payload, { message: 'Can we help you choose?' });
  assert.deepEqual(await t.advance(BigInt(T0 + 10 * MIN)), [], 'fires once');
});

test('context tells an agent everything at once', async () => {
  const t = new Tracker(shop());
  await t.track(ev(T0 - 86_400_000_000, 'session:s1', 'email_open', 'email'));
  await anonymousCart(t);
  await t.track(ev(T0 + 3 * MIN, ['session:s1', 'phone:+34600000001'], 'callback_requested', 'web', { rating: 'negative' }));
  const ctx = await t.context('phone:+34600000001');
  assert.equal(ctx.level, 'identified');
  assert.deepEqual(ctx.keys, ['session:s1', 'phone:+34600000001']);
  assert.deepEqual(
    ctx.recent.map((e) => e.event),
    ['email_open', 'product_view', 'add_to_cart', 'remove_from_cart', 'callback_requested'],
  );
  assert.equal(ctx.currentPhase, 'consideration');
  assert.equal(ctx.furthestPhase, 'consideration');
  assert.deepEqual(ctx.phasesReached, ['awareness', 'consideration']);
  assert.equal(ctx.events, 5);
  assert.equal(ctx.firstTs, T0 - 86_400_000_000);
  assert.equal(ctx.lastTs, T0 + 3 * MIN);
  assert.deepEqual(ctx.interests[0], { what: 'cart', count: 2, lastTs: T0 + 2 * MIN });
  assert.deepEqual(ctx.emotion, { ratings: 1, mean: -1, lowest: -1, last: -1, recent: [[T0 + 3 * MIN, -1]] });
  assert.equal(ctx.persona, null);
  assert.deepEqual(ctx.openWaypoints.map((w) => [w.waypoint, w.armedAt, w.due, w.triggerEvent]), [
    ['cart_abandoned', T0 + 2 * MIN, T0 + 32 * MIN, 'remove_from_cart'],
  ]);
  assert.equal(ctx.openWaypoints[0].profile, ctx.profile);
  assert.deepEqual(ctx.conflicts, []);
  assert.equal(await t.context('session:unknown'), null);
});

test('context honours recentEvents and interestProperties', async () => {
  const t = new Tracker(shop(), { recentEvents: 2, interestProperties: ['topic'] });
  await t.track(ev(T0, 'session:i', 'blog_read', 'web', { properties: { topic: 'refinancing', product: 'tv' } }));
  await t.track(ev(T0 + 1, 'session:i', 'product_view'));
  await t.track(ev(T0 + 2, 'session:i', 'product_view'));
  const ctx = await t.context('session:i');
  assert.equal(ctx.recent.length, 2);
  assert.equal(ctx.events, 3);
  const wide = new Tracker(shop(), { interestProperties: ['topic'] });
  await wide.track(ev(T0, 'session:i', 'blog_read', 'web', { properties: { topic: 'refinancing', product: 'tv' } }));
  const what = (await wide.context('session:i')).interests.map((i) => i.what);
  assert.ok(what.includes('topic=refinancing'), what.join());
  assert.ok(!what.includes('product=tv'), what.join());
});

test('contextSync is context on the calling thread', async () => {
  const t = new Tracker(shop());
  await anonymousCart(t);
  assert.deepEqual(t.contextSync('session:s1'), await t.context('session:s1'));
  assert.equal(t.contextSync('session:nobody'), null);
});

test('route picks the first matching routing rule of the map', async () => {
  // The same story as the core's routing_by_phase_and_priority test.
  const t = new Tracker(shop());
  const route = async (key) => {
    const r = await t.route(key);
    assert.deepEqual(t.routeSync(key), r, 'routeSync agrees');
    return r && [r.rule, r.queue, r.department, r.priority];
  };
  assert.equal(await t.route('session:nobody'), null);
  await t.track(ev(T0, 'session:r1', 'product_view'));
  assert.deepEqual(await route('session:r1'), ['default', 'sales', 'sales', 9]);
  await t.track(ev(T0 + 1, 'session:r1', 'add_to_cart', 'web', { properties: { cart_value: 1499 } }));
  assert.deepEqual(await route('session:r1'), ['big_cart', 'premium_sales', 'sales', 2]);
  await t.track(ev(T0, 'email:r2@x.com', 'delivered', 'email'));
  assert.deepEqual(await route('email:r2@x.com'), ['after_sales', 'customer_care', 'support', 5]);
  await t.track(ev(T0 + 1, 'email:r2@x.com', 'support_call', 'phone', { rating: { csat: 1 } }));
  assert.deepEqual(await route('email:r2@x.com'), ['unhappy_after_purchase', 'retention', 'support', 1]);
  const err = await rejected(t.route('no-colon'));
  assert.equal(err.code, 'E_PARSE');
  assert.equal(err.path, 'key');
  assert.throws(() => t.routeSync('no-colon'), { code: 'E_PARSE', path: 'key' });
});

test('journey lists a profile in time order, then arrival order', async () => {
  const t = new Tracker(shop());
  await t.track(ev(T0 + 10, 'session:o', 'checkout_start'));
  await t.track(ev(T0, 'session:o', 'product_view'));
  await t.track(ev(T0 + 10, 'session:o', 'payment'));
  assert.deepEqual((await t.journey('session:o')).map((e) => e.event), ['product_view', 'checkout_start', 'payment']);
  assert.deepEqual(await t.journey('session:none'), []);
});

test('link and unlink stitch and split profiles', async () => {
  const t = new Tracker(shop());
  await t.track(ev(T0, ['session:s', 'email:a@x.com'], 'newsletter_signup'));
  await t.track(ev(T0 + MIN, 'email:a@x.com', 'email_open', 'email'));
  await t.track(ev(T0 + 3 * MIN, 'email:b@x.com', 'email_click', 'email'));
  assert.equal(await t.link('email:a@x.com', 'email:b@x.com', T0 + 4 * MIN), 'merged');
  assert.equal(await t.link('email:a@x.com', 'email:b@x.com', new Date((T0 + 4 * MIN) / 1000)), 'already');
  assert.equal(await t.link('email:b@x.com', 'phone:+34911111111', BigInt(T0 + 4 * MIN)), 'joined');
  assert.equal((await t.context('email:b@x.com')).events, 3);
  const split = await t.unlink('email:a@x.com', 'email:b@x.com', T0 + 5 * MIN);
  assert.equal(typeof split, 'number');
  const a = await t.context('email:a@x.com');
  const b = await t.context('email:b@x.com');
  assert.deepEqual([a.events, b.events], [2, 1]);
  assert.equal(b.profile, split);
  assert.equal(typeof (await t.unlink('email:b@x.com', 'phone:+34911111111', T0 + 6 * MIN)), 'number');
  // Keys still connected through another link: the profile does not split.
  await t.track(ev(T0, ['email:p@x.com', 'phone:+1'], 'email_open', 'email'));
  await t.track(ev(T0, ['phone:+1', 'device:d'], 'app_install', 'mobile_app'));
  await t.track(ev(T0, ['email:p@x.com', 'device:d'], 'app_install', 'mobile_app'));
  assert.equal(await t.unlink('email:p@x.com', 'device:d', T0 + MIN), null);
  assert.equal((await t.context('device:d')).profile, (await t.context('email:p@x.com')).profile);
});

test('linkLog lists the links and merges of a profile', async () => {
  const t = new Tracker(shop());
  await t.track(ev(T0, ['session:s', 'email:a@x.com'], 'newsletter_signup'));
  await t.track(ev(T0 + MIN, 'email:b@x.com', 'email_click', 'email'));
  await t.link('email:a@x.com', 'email:b@x.com', T0 + 2 * MIN);
  await t.unlink('email:a@x.com', 'email:b@x.com', T0 + 3 * MIN);
  const log = await t.linkLog('email:a@x.com');
  assert.deepEqual(log.map((l) => l.outcome), ['joined', 'merged', 'removed']);
  assert.equal(log[0].eventSeq, 0);
  assert.equal(log[1].eventSeq, null, 'an explicit link');
  assert.equal(typeof log[1].absorbed, 'number');
  assert.deepEqual([log[1].a, log[1].b, log[1].ts], ['email:a@x.com', 'email:b@x.com', T0 + 2 * MIN]);
  assert.deepEqual(await t.linkLog('email:nobody@x.com'), []);
});

test('conflicts: a shared device never merges two customers', async () => {
  const t = new Tracker(shop());
  await t.track(ev(T0, ['device:tablet', 'customer:0000001'], 'account_login', 'mobile_app'));
  const second = await t.track(ev(T0 + MIN, ['device:tablet', 'customer:0000002'], 'account_login', 'mobile_app'));
  const conflicts = await t.conflicts();
  assert.equal(conflicts.length, 1);
  assert.deepEqual(
    { ...conflicts[0], message: typeof conflicts[0].message },
    { key: 'customer:0000002', other: 'device:tablet', ts: T0 + MIN, eventSeq: second.seq, kind: 'customer', limit: 1, message: 'string' },
  );
  assert.deepEqual((await t.context('customer:0000002')).conflicts, conflicts);
  assert.equal(await t.link('customer:0000001', 'customer:0000002', T0), 'refused');
  assert.equal((await t.conflicts()).length, 2);
});

test('profiles and count filter by phase, persona and level', async () => {
  const t = new Tracker(shop());
  await t.track(ev(T0, 'session:a', 'ad_click', 'social'));
  await t.track(ev(T0, 'session:b', 'ad_click', 'social'));
  await t.track(ev(T0 + MIN, ['session:b', 'email:b@x.com'], 'order_confirmed'));
  const prospects = await t.profiles({ notReached: 'purchase' });
  assert.deepEqual(prospects.map((p) => p.key), ['session:a']);
  assert.deepEqual(prospects[0], {
    profile: prospects[0].profile,
    key: 'session:a',
    level: 'anonymous',
    persona: null,
    currentPhase: 'awareness',
    furthestPhase: 'awareness',
    events: 1,
  });
  assert.equal(await t.count({ reached: 'purchase' }), 1);
  assert.equal(await t.count({ currentPhase: 'purchase', level: 'identified' }), 1);
  assert.equal(await t.count({ level: 'authenticated' }), 0);
  assert.equal(await t.count(), 2);
  assert.equal((await t.profiles()).length, 2);
  assert.equal(await t.count({ persona: 'busy_professional' }), 0);
});

test('pendingActions and ack: the outbox', async () => {
  const t = new Tracker(shop());
  await anonymousCart(t);
  await t.advance(T0 + 60 * MIN);
  const pending = await t.pendingActions();
  assert.deepEqual(pending.map((a) => a.waypoint), ['anonymous_cart_callback', 'waiting_on_product', 'cart_abandoned'].filter((w) => pending.some((a) => a.waypoint === w)));
  assert.ok(pending.length >= 2);
  assert.deepEqual(await t.pendingActions(1), pending.slice(0, 1));
  assert.equal(await t.ack(pending[0].id), true);
  assert.equal(await t.ack(pending[0].id), false, 'not pending any more');
  assert.equal(await t.ack('no-such-action'), false);
  assert.deepEqual(await t.pendingActions(100), pending.slice(1));
});

test('assignPersona and setAttributes', async () => {
  const t = new Tracker(shop());
  await t.track(ev(T0, 'email:p@x.com', 'product_view'));
  assert.equal(await t.setAttributes('email:p@x.com', { segment: 'student' }), null);
  assert.equal(await t.setAttributes('email:p@x.com', { segment: 'professional', children: 2 }), 'busy_professional');
  assert.equal(await t.count({ persona: 'busy_professional' }), 1);
  assert.equal(await t.assignPersona('email:p@x.com', null), undefined);
  assert.equal((await t.context('email:p@x.com')).persona, null);
  await t.assignPersona('email:p@x.com', 'busy_professional');
  assert.equal((await t.context('email:p@x.com')).persona, 'busy_professional');
  await t.assignPersona('email:p@x.com');
  assert.equal((await t.context('email:p@x.com')).persona, null);
});

test('identity rules decide levels and limits', async () => {
  const t = new Tracker(shop(), { identity: { levels: { member: 'authenticated' }, limits: { member: 1 } } });
  await t.track(ev(T0, ['session:m', 'member:1'], 'account_login'));
  assert.equal((await t.context('session:m')).level, 'authenticated');
  await t.track(ev(T0 + 1, ['session:m', 'member:2'], 'account_login'));
  assert.equal((await t.conflicts())[0].kind, 'member');
  // `levels` replaces the default table: e-mail keys are anonymous (the default level) now.
  await t.track(ev(T0, 'email:x@x.com', 'product_view'));
  assert.equal((await t.context('email:x@x.com')).level, 'anonymous');
  const lenient = new Tracker(shop(), { identity: { defaultLevel: 'identified' } });
  await lenient.track(ev(T0, 'badge:77', 'store_visit', 'store'));
  assert.equal((await lenient.context('badge:77')).level, 'identified');
  assert.equal((await lenient.context('badge:77')).keys[0], 'badge:77');
});

test('options.map picks the map to track against', async () => {
  const doc = JSON.parse(shop().toJson());
  const second = structuredClone(doc.maps[0]);
  second.id = 'second';
  second.waypoints = [];
  second.touchpoints = second.touchpoints.map((tp) => ({ ...tp, id: `${tp.id}_2` }));
  doc.maps.push(second);
  const two = MapDocument.fromJson(JSON.stringify(doc));
  const t = new Tracker(two, { map: 'second' });
  assert.equal((await t.track(ev(T0, 'session:x', 'product_view'))).touchpoint, 'product_page_2');
});

test('listeners get the anonymous-cart callback offer', async () => {
  const t = new Tracker(shop());
  const seen = [];
  const other = [];
  const listener = (action) => seen.push(action);
  t.on('action', listener);
  t.on('action', (action) => other.push(action.kind));
  const removed = await anonymousCart(t);
  await waitFor(() => seen.length === 1 && other.length === 1, 3000, 'the callback offer');
  assert.deepEqual(seen[0], removed.actions[0]);
  assert.equal(seen[0].kind, 'callback_offer');
  assert.deepEqual(seen[0].payload, { script: 'cart_help' });
  // From trackSync too, delivered on the event loop after the call returns.
  t.trackSync(ev(T0, 'session:s2', 'add_to_cart'));
  t.trackSync(ev(T0 + 1, 'session:s2', 'remove_from_cart'));
  assert.equal(seen.length, 1, 'not called from inside trackSync');
  await waitFor(() => seen.length === 2, 3000, 'the second offer');
  // And from advance.
  await t.advance(T0 + 60 * MIN);
  await waitFor(() => seen.some((a) => a.waypoint === 'cart_abandoned'), 3000, 'the missed deadline');
  t.off('action', listener);
  t.off('action', () => {}); // not added: nothing happens
  const before = seen.length;
  const count = other.length;
  await anonymousCart(t, 'session:s3');
  await waitFor(() => other.length > count, 3000, 'the remaining listener');
  await settle();
  assert.equal(seen.length, before, 'a removed listener is not called');
});

test('startClock fires a missed deadline in real time', async () => {
  const t = new Tracker(quickMap('200ms'));
  const seen = [];
  t.on('action', (a) => seen.push(a));
  const start = Date.now() * 1000;
  const tracked = await t.track(ev(start, 'session:c', 'start'));
  assert.deepEqual(tracked.actions, []);
  t.startClock(20);
  const missed = await waitFor(() => seen.find((a) => a.outcome === 'missed'), 5000, 'the missed deadline');
  assert.equal(missed.waypoint, 'finish_quickly');
  assert.equal(missed.kind, 'sms');
  assert.equal(missed.ts, start + 200_000);
  assert.deepEqual(missed.why.deadline, [start, start + 200_000]);
  assert.ok(Date.now() * 1000 >= start + 200_000, 'not before the deadline');
  t.stopClock();
  t.stopClock(); // stopping twice does nothing
  // A stopped clock fires nothing more; a restarted one does.
  await t.track(ev(Date.now() * 1000, 'session:d', 'start'));
  await new Promise((resolve) => setTimeout(resolve, 350));
  assert.equal(seen.length, 1, 'the clock is stopped');
  t.startClock(10);
  t.startClock(); // a running clock restarts
  t.startClock(15);
  await waitFor(() => seen.length === 2, 5000, 'the second missed deadline');
  t.close();
});

test('the clock stops on close and sends its errors to onError', async () => {
  const t = new Tracker(quickMap('100ms'));
  const errors = [];
  t.startClock(10, (err) => errors.push(err));
  t.close();
  assert.equal(t.closed, true);
  await settle();
  assert.deepEqual(errors, [], 'the closed tracker stops its clock quietly');
});

test('mapId, clock and clockRunning read the tracker back', async () => {
  const t = new Tracker(shop());
  assert.equal(t.mapId, 'shop');
  assert.equal(t.clock, null, 'no event time seen yet');
  await t.track(ev(T0 + 5, 'session:c', 'product_view'));
  assert.equal(t.clock, T0 + 5);
  await t.track(ev(T0, 'session:c', 'add_to_cart'));
  assert.equal(t.clock, T0 + 5, 'an older event does not move the clock back');
  await t.advance(T0 + MIN);
  assert.equal(t.clock, T0 + MIN);
  assert.equal(t.clockRunning, false);
  t.startClock(50);
  assert.equal(t.clockRunning, true);
  t.stopClock();
  assert.equal(t.clockRunning, false);
  t.close();
  assert.equal(t.mapId, 'shop');
  assert.throws(() => t.clock, { code: 'E_CLOSED' });
});

test('close ends the tracker; closing twice does nothing', async () => {
  const t = new Tracker(shop());
  const seen = [];
  t.on('action', (a) => seen.push(a));
  await t.track(ev(T0, 'session:z', 'product_view'));
  t.startClock(10);
  const pending = t.track(ev(T0 + 1, 'session:z', 'add_to_cart'));
  t.close();
  t.close();
  assert.equal(t.closed, true);
  // An operation queued before close either finished first or sees the tracker closed.
  await pending.then(
    (tracked) => assert.equal(tracked.touchpoint, 'cart'),
    (err) => assert.equal(err.code, 'E_CLOSED'),
  );
  await settle();
  assert.deepEqual(seen, [], 'no action fired');
});

test('backtest fires exactly what live tracking fires', async () => {
  const names = ['product_view', 'add_to_cart', 'remove_from_cart', 'checkout_start', 'survey'];
  const log = Array.from({ length: 200 }, (_, i) => {
    const e = ev(T0 + Math.floor((i * 7 * MIN) / 3), `session:b${i % 17}`, names[i % 5]);
    if (names[i % 5] === 'survey') e.properties = { csat: i % 5 };
    if (i % 23 === 0) e.keys.push(`customer:${String(i % 3).padStart(7, '0')}`);
    return e;
  });
  const end = T0 + 10_000 * MIN;
  const replayed = await backtest(shop(), log, end);
  const live = new Tracker(shop());
  const seen = [];
  live.on('action', (a) => seen.push(a));
  for (const e of log) await live.track(e);
  await live.advance(end);
  await waitFor(() => seen.length === replayed.length && seen.length > 0, 3000, 'every live action');
  assert.deepEqual(seen, replayed);
  assert.deepEqual(await backtest(shop(), log.slice(0, 3)), await backtest(shop(), log.slice(0, 3), null, {}));
  const noDeadlines = await backtest(shop(), [ev(T0, 'session:w', 'product_view')]);
  assert.deepEqual(noDeadlines, [], 'without until, armed deadlines stay armed');
  const withDeadline = await backtest(shop(), [ev(T0, 'session:w', 'product_view')], new Date((T0 + 3 * MIN) / 1000));
  assert.deepEqual(withDeadline.map((a) => a.waypoint), ['waiting_on_product']);
});

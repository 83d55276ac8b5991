// The shop server example over real HTTP on a loopback port: a whole journey, from an
// anonymous visit to a callback offer, a login that stitches the session, and the agent
// desk's context.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { MapDocument, Tracker } from 'journey-core';

import { createShop } from '../../examples/node/shop-server.mjs';
import { repo, tempDir } from './helpers.mjs';

let shop;
let base;

before(async () => {
  shop = createShop();
  await new Promise((resolve) => shop.server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${shop.server.address().port}`;
});

after(async () => {
  await new Promise((resolve) => shop.server.close(resolve));
  await shop.tracker.close();
});

/** A browser: keeps the session cookie between requests. */
function browser() {
  let cookie = null;
  return async (method, path, body) => {
    const res = await fetch(base + path, {
      method,
      headers: { ...(cookie ? { cookie } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const set = res.headers.get('set-cookie');
    if (set) cookie = set.split(';')[0];
    return { status: res.status, body: await res.json(), cookie };
  };
}

test('a whole journey over HTTP: callback offer, stitching, context', async () => {
  const visit = browser();
  const page = await visit('GET', '/products/laptop-14');
  assert.equal(page.status, 200);
  assert.deepEqual([page.body.touchpoint, page.body.phase], ['product_page', 'consideration']);
  assert.match(page.cookie, /^sid=[0-9a-f-]{36}$/, 'a session cookie is set');
  const sid = page.cookie.slice('sid='.length);

  assert.equal((await visit('POST', '/cart/add', { product: 'laptop-14', value: 899 })).body.touchpoint, 'cart');
  const removed = await visit('POST', '/cart/remove', { product: 'laptop-14' });
  assert.equal(removed.status, 200);
  assert.deepEqual(
    removed.body.actions.map((a) => [a.waypoint, a.outcome, a.kind, a.payload]),
    [['anonymous_cart_callback', 'reached', 'callback_offer', { script: 'cart_help' }]],
  );

  // The listener queued the offer for the callback desk.
  let offers = [];
  for (let i = 0; i < 200 && offers.length === 0; i++) {
    offers = (await visit('GET', '/offers')).body;
    if (offers.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.deepEqual(offers.map((o) => o.id), [removed.body.actions[0].id]);

  // The visitor leaves a phone number, then logs in: one profile, authenticated.
  await visit('POST', '/callback', { phone: '+34600000001' });
  const login = await visit('POST', '/login', { customer: '0012345' });
  assert.deepEqual([login.body.touchpoint, login.body.phase], ['account', 'service']);
  const desk = browser(); // the agent desk has no session of its own
  const context = await desk('GET', '/context/customer:0012345');
  assert.equal(context.status, 200);
  assert.equal(context.body.level, 'authenticated');
  assert.deepEqual(context.body.keys, [`session:${sid}`, 'phone:+34600000001', 'customer:0012345']);
  assert.deepEqual(
    context.body.recent.map((e) => e.event),
    ['product_view', 'add_to_cart', 'remove_from_cart', 'callback_requested', 'account_login'],
  );
  assert.deepEqual(context.body.phasesReached, ['consideration', 'service']);
  assert.equal(context.body.interests.find((i) => i.what === 'cart').count, 2);
  assert.deepEqual(context.body.openWaypoints.map((w) => w.waypoint), ['cart_abandoned']);
  assert.deepEqual(await desk('GET', `/context/session:${sid}`).then((r) => r.body.profile), context.body.profile);

  // The callback desk calls back and marks the offer done: acknowledged in the outbox.
  assert.deepEqual((await desk('POST', `/offers/${offers[0].id}/done`)).body, { done: true });
  assert.deepEqual((await desk('GET', '/offers')).body, []);
  assert.ok((await shop.tracker.pendingActions()).every((a) => a.id !== offers[0].id));
});

test('checkout with an e-mail identifies an anonymous visitor, and orders close the cart', async () => {
  const visit = browser();
  await visit('GET', '/products/tv-55');
  await visit('POST', '/cart/add', { product: 'tv-55', value: 1299 });
  const checkout = await visit('POST', '/checkout', { email: 'ana@example.com' });
  assert.equal(checkout.body.touchpoint, 'checkout');
  const order = await visit('POST', '/orders');
  assert.equal(order.body.phase, 'purchase');
  const context = await visit('GET', '/context/email:ana@example.com');
  assert.equal(context.body.level, 'identified');
  assert.equal(context.body.currentPhase, 'purchase');
  assert.deepEqual(context.body.openWaypoints, [], 'the order disarmed the abandoned-cart deadline');
});

test('errors: unknown keys are 404, bad input is 400 with the code and field', async () => {
  const visit = browser();
  assert.equal((await visit('GET', '/context/session:nobody')).status, 404);
  const badKey = await visit('GET', '/context/nokind');
  assert.deepEqual([badKey.status, badKey.body.code, badKey.body.field], [400, 'E_PARSE', 'key']);
  const badPhone = await visit('POST', '/callback', { phone: '' });
  assert.deepEqual([badPhone.status, badPhone.body.code, badPhone.body.field], [400, 'E_BAD_EVENT', 'keys[1]']);
  assert.equal((await visit('GET', '/nowhere')).status, 404);
});

test('with a SQLite file, journeys and pending offers survive a restart of the shop', async () => {
  const db = join(tempDir('journey-core-shop-'), 'journeys.db');
  const start = async () => {
    const s = createShop({ db });
    await new Promise((resolve) => s.server.listen(0, '127.0.0.1', resolve));
    return { s, url: `http://127.0.0.1:${s.server.address().port}` };
  };
  const call = async (url, method, path, body, cookie) => {
    const res = await fetch(url + path, { method, headers: { ...(cookie ? { cookie } : {}), 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
    return { status: res.status, body: await res.json(), cookie: res.headers.get('set-cookie')?.split(';')[0] ?? cookie };
  };
  const first = await start();
  const page = await call(first.url, 'GET', '/products/phone-x');
  await call(first.url, 'POST', '/cart/add', { product: 'phone-x', value: 499 }, page.cookie);
  const removed = await call(first.url, 'POST', '/cart/remove', { product: 'phone-x' }, page.cookie);
  assert.equal(removed.body.actions[0].kind, 'callback_offer');
  await new Promise((resolve) => first.s.server.close(resolve));
  await first.s.tracker.close(); // flushes and releases the file

  const second = await start();
  const sid = page.cookie.slice('sid='.length);
  const context = await call(second.url, 'GET', `/context/session:${sid}`);
  assert.equal(context.status, 200);
  assert.deepEqual(context.body.recent.map((e) => e.event), ['product_view', 'add_to_cart', 'remove_from_cart']);
  assert.deepEqual(context.body.openWaypoints.map((w) => w.waypoint), ['cart_abandoned']);
  assert.deepEqual((await second.s.tracker.pendingActions()).map((a) => a.id), [removed.body.actions[0].id]);
  await new Promise((resolve) => second.s.server.close(resolve));
  await second.s.tracker.close();
});

// Two shop instances on one PostgreSQL schema, as two backends behind a load balancer
// (the server of test/postgres.test.mjs; skipped with it when JOURNEY_CORE_SKIP_POSTGRES=1).
const PG_URL = process.env.JOURNEY_CORE_PG_URL?.trim();
test(
  'two shops on one PostgreSQL schema share their customers',
  { skip: !PG_URL && process.env.JOURNEY_CORE_SKIP_POSTGRES === '1' && 'JOURNEY_CORE_SKIP_POSTGRES=1' },
  async () => {
    assert.ok(PG_URL, 'JOURNEY_CORE_PG_URL is not set: export the URL `scripts/postgres.sh start` prints, or set JOURNEY_CORE_SKIP_POSTGRES=1');
    const schema = `jc_node_${randomBytes(6).toString('hex')}`;
    const shops = [];
    for (let i = 0; i < 2; i++) {
      const tracker = await Tracker.open(MapDocument.load(join(repo, 'examples/maps/shop.json')), { postgres: PG_URL, schema });
      const s = createShop({ tracker });
      await new Promise((resolve) => s.server.listen(0, '127.0.0.1', resolve));
      shops.push({ s, url: `http://127.0.0.1:${s.server.address().port}` });
    }
    const call = async (url, method, path, body, cookie) => {
      const res = await fetch(url + path, { method, headers: { ...(cookie ? { cookie } : {}), 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
      return { status: res.status, body: await res.json(), cookie: res.headers.get('set-cookie')?.split(';')[0] ?? cookie };
    };
    const [a, b] = shops;
    const page = await call(a.url, 'GET', '/products/phone-x');
    await call(b.url, 'POST', '/cart/add', { product: 'phone-x', value: 499 }, page.cookie);
    await call(a.url, 'POST', '/checkout', { email: 'eve@example.com' }, page.cookie);
    const context = await call(b.url, 'GET', '/context/email:eve@example.com');
    assert.equal(context.status, 200);
    assert.deepEqual(context.body.recent.map((e) => e.event), ['product_view', 'add_to_cart', 'checkout_start']);
    for (const { s } of shops) {
      await new Promise((resolve) => s.server.close(resolve));
      await s.tracker.close();
    }
  },
);

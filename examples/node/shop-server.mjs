// A small shop backend (plain node:http) that tracks its customers' journeys with
// journey-core: a session cookie identifies the anonymous visitor, page views and cart
// events are tracked, logging in or checking out with an e-mail stitches the anonymous
// session into the customer's profile, the anonymous-cart waypoint of the shop map fires
// a callback offer (queued for the callback desk), and `/context/:key` serves customer
// context to an agent desk.
//
// Run: node examples/node/shop-server.mjs [port] [journeys.db]   (default 3000, in memory;
// with a SQLite file the journeys, armed deadlines and pending offers survive a restart; Ctrl-C stops it)
// With JOURNEY_CORE_PG_URL set (postgres://user:password@host:port/database) the journeys
// live in PostgreSQL instead, in the schema JOURNEY_CORE_PG_SCHEMA (default `shop`): run
// several shops on one schema and they share their customers.
//
// Routes (JSON in and out):
//   GET  /products/:id                   a product page view
//   POST /cart/add     {product, value}  add to cart
//   POST /cart/remove  {product}         remove from cart
//   POST /callback     {phone}           the "call me back" form (identifies the visitor)
//   POST /login        {customer}        log in (authenticates and stitches the session)
//   POST /checkout     {email}           start checkout (identifies the visitor)
//   POST /orders                         confirm the order
//   GET  /context/:key                   customer context for the agent desk (404 if unknown)
//   GET  /offers                         the callback offers waiting for the callback desk
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';

import { MapDocument, Tracker } from 'journey-core';

const SHOP_MAP = fileURLToPath(new URL('../maps/shop.json', import.meta.url));

/** Microseconds since the Unix epoch: the event time of a live request. */
const now = () => Date.now() * 1000;

/** A JSON response. */
function send(res, status, body, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** The request's JSON body (an empty object without one). */
async function body(req) {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text === '' ? {} : JSON.parse(text);
}

/** The session id from the `sid` cookie, or a new one (with the header that sets it). */
function session(req) {
  const cookie = /(?:^|;\s*)sid=([0-9a-f-]{36})(?:;|$)/.exec(req.headers.cookie ?? '');
  if (cookie) return { sid: cookie[1], headers: {} };
  const sid = randomUUID();
  return { sid, headers: { 'set-cookie': `sid=${sid}; Path=/; HttpOnly; SameSite=Lax` } };
}

/**
 * Creates the shop: an HTTP server (not listening yet) and its tracker.
 *
 * @param {{ map?: string, db?: string, tracker?: Tracker }} [options] the journey map file
 *   (default: examples/maps/shop.json) and the SQLite file to keep journeys in (default:
 *   memory), or a tracker already open (e.g. `await Tracker.open(doc, { postgres: url })`)
 */
export function createShop(options = {}) {
  const tracker = options.tracker ?? new Tracker(MapDocument.load(options.map ?? SHOP_MAP), options.db ? { path: options.db } : {});
  /** Callback offers for the callback desk, by action id. */
  const offers = new Map();

  // Waypoint actions arrive here after each commit. The shop executes what it can and
  // acknowledges it; a callback offer waits for the callback desk (`GET /offers`).
  tracker.on('action', (action) => {
    if (action.kind === 'callback_offer') offers.set(action.id, action);
    else console.log(`action: ${action.waypoint} ${action.outcome} -> ${action.kind} ${JSON.stringify(action.payload)}`);
  });

  /** Tracks one event of the session (with extra identity keys) and answers with what it did. */
  async function track(res, sid, headers, event, extra = {}) {
    const tracked = await tracker.track({
      ts: now(),
      keys: [`session:${sid}`, ...(extra.keys ?? [])],
      event,
      channel: 'web',
      ...(extra.properties ? { properties: extra.properties } : {}),
    });
    send(res, 200, { touchpoint: tracked.touchpoint, phase: tracked.phase, actions: tracked.actions }, headers);
  }

  async function route(req, res) {
    const url = new URL(req.url ?? '/', 'http://shop.invalid');
    const path = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const { sid, headers } = session(req);
    const input = req.method === 'POST' ? await body(req) : {};
    const is = (method, ...parts) => req.method === method && parts.length === path.length && parts.every((p, i) => p === '*' || p === path[i]);

    if (is('GET', 'products', '*')) return track(res, sid, headers, 'product_view', { properties: { product: path[1] } });
    if (is('POST', 'cart', 'add')) return track(res, sid, headers, 'add_to_cart', { properties: { product: input.product, cart_value: input.value ?? 0 } });
    if (is('POST', 'cart', 'remove')) return track(res, sid, headers, 'remove_from_cart', { properties: { product: input.product } });
    if (is('POST', 'callback')) return track(res, sid, headers, 'callback_requested', { keys: [`phone:${input.phone}`] });
    if (is('POST', 'login')) return track(res, sid, headers, 'account_login', { keys: [`customer:${input.customer}`] });
    if (is('POST', 'checkout')) return track(res, sid, headers, 'checkout_start', { keys: input.email ? [`email:${input.email}`] : [] });
    if (is('POST', 'orders')) return track(res, sid, headers, 'order_confirmed');
    if (is('GET', 'context', '*')) {
      const context = await tracker.context(path[1]);
      return context === null ? send(res, 404, { error: `no customer with key ${path[1]}` }) : send(res, 200, context);
    }
    if (is('GET', 'offers')) return send(res, 200, [...offers.values()]);
    if (is('POST', 'offers', '*', 'done')) {
      // The callback desk called the customer back: the action is done.
      const done = offers.delete(path[1]) && (await tracker.ack(path[1]));
      return send(res, done ? 200 : 404, { done });
    }
    send(res, 404, { error: `no route ${req.method} ${url.pathname}` });
  }

  const server = createServer((req, res) => {
    route(req, res).catch((err) => {
      // journey-core errors carry a stable `code` (E_BAD_EVENT, E_PARSE...) and the field at fault.
      const status = err.code === 'E_BAD_EVENT' || err.code === 'E_PARSE' || err instanceof SyntaxError ? 400 : 500;
      send(res, status, { error: err.message, code: err.code ?? null, field: err.field ?? err.path ?? null });
    });
  });
  return { server, tracker, offers };
}

// Run directly: listen, drive waypoint deadlines from the wall clock, stop on Ctrl-C.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const port = Number(process.argv[2] ?? 3000);
  const url = process.env.JOURNEY_CORE_PG_URL;
  const { server, tracker } = url
    ? createShop({ tracker: await Tracker.open(MapDocument.load(SHOP_MAP), { postgres: url, schema: process.env.JOURNEY_CORE_PG_SCHEMA ?? 'shop' }) })
    : createShop({ db: process.argv[3] });
  tracker.startClock(1000, (err) => console.error(`clock: ${err.code}: ${err.message}`));
  server.listen(port, () => console.log(`shop listening on http://localhost:${port}`));
  const stop = () => {
    server.close();
    // stops the clock; the Promise settles once the store is flushed and its file released
    tracker.close().catch((err) => console.error(`close: ${err.code}: ${err.message}`));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

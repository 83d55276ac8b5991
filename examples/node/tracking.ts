// Tracks one customer through the shop map (TypeScript): an anonymous visitor empties the
// cart and is offered a callback, leaves a phone number, comes back and logs in (the
// anonymous session is stitched into the customer's profile), an agent reads the customer
// context, and the host works through the outbox. Replaying the same log with `backtest`
// fires the same actions.
//
// Run (after compiling, or through the tests): tracking <shop.json>
import { MapDocument, Tracker, backtest, type Action, type Context, type JourneyEvent } from 'journey-core';

const file = process.argv[2];
if (file === undefined) {
  console.error('usage: tracking <shop.json>');
  process.exit(2);
}

/** Event time: 2025-01-06T09:00:00Z, in microseconds since the Unix epoch. */
const T0 = Date.UTC(2025, 0, 6, 9) * 1000;
const MINUTE = 60_000_000;
const session = 'session:7f3a'; // e.g. from a session cookie

const tracker = new Tracker(MapDocument.load(file), { recentEvents: 10 });
const heard: Action[] = [];
tracker.on('action', (action) => heard.push(action)); // called on the event loop after each commit

const log: JourneyEvent[] = [
  { ts: T0, keys: [session], event: 'product_view', channel: 'web', properties: { product: 'laptop-14' } },
  { ts: T0 + MINUTE, keys: [session], event: 'add_to_cart', channel: 'web', properties: { cart_value: 899 } },
  { ts: T0 + 2 * MINUTE, keys: [session], event: 'remove_from_cart', channel: 'web' },
  // The callback form: the phone number joins the anonymous profile.
  { ts: T0 + 3 * MINUTE, keys: [session, 'phone:+34600000001'], event: 'callback_requested', channel: 'web' },
  // 40 minutes later, a login: the session is stitched into the customer's profile.
  { ts: T0 + 43 * MINUTE, keys: [session, 'customer:0012345'], event: 'account_login', channel: 'web' },
  { ts: T0 + 44 * MINUTE, keys: ['customer:0012345'], event: 'support_call', channel: 'phone', rating: { csat: 2 } },
];

const show = (a: Action) => `${a.waypoint} ${a.outcome} -> ${a.kind} ${JSON.stringify(a.payload)}`;
let fired = 0;
for (const event of log) {
  const tracked = await tracker.track(event);
  fired += tracked.actions.length;
  const where = tracked.touchpoint === null ? 'off the map' : `${tracked.touchpoint} (${tracked.phase})`;
  console.log(`${event.event}: profile ${tracked.profile}, ${where}`);
  for (const action of tracked.actions) console.log(`  action: ${show(action)}`);
}

// What an agent desk shows when the customer calls.
const context: Context | null = await tracker.context('phone:+34600000001');
if (context === null) throw new Error('the caller is unknown');
console.log(`context: ${context.level}, keys ${context.keys.join(', ')}`);
console.log(`  phases ${context.phasesReached.join(' > ')}, now in ${context.currentPhase}`);
console.log(`  interests ${context.interests.map((i) => `${i.what} x${i.count}`).join(', ')}`);
console.log(`  emotion: lowest ${context.emotion.lowest}, last ${context.emotion.last}`);

// The host executes pending actions, then acknowledges them.
const pending = await tracker.pendingActions();
for (const action of pending) await tracker.ack(action.id);
console.log(`outbox: acknowledged ${pending.length} action(s), ${(await tracker.pendingActions()).length} left`);

// Listeners heard the same actions (they arrive on the event loop).
while (heard.length < fired) await new Promise((resolve) => setTimeout(resolve, 5));
console.log(`listener: ${heard.length} action(s)`);

// Replaying the log fires exactly what live tracking fired.
const replayed = await backtest(MapDocument.load(file), log);
console.log(`backtest: ${replayed.length} action(s), ${replayed.map((a) => a.waypoint).join(', ')}`);
tracker.close();

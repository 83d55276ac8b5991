// Tracking speed from Node: `trackBatch` in batches into the in-memory store, with the
// shop map (its 5 waypoints). Events are generated like journey-core's Rust benchmark
// (benches/track.rs): deterministic, 10% with a second key, 25% with a property.
//
// Run from the repository root (after `bash bindings-node/scripts/test.sh` built the addon):
//   node bindings-node/bench/track-batch.mjs            (EVENTS, PROFILES, BATCH to resize)
import { fileURLToPath } from 'node:url';

import { MapDocument, Tracker } from '../index.js';

const env = (name, fallback) => Number(process.env[name] ?? fallback);
const events = env('EVENTS', 1_000_000);
const profiles = env('PROFILES', 100_000);
const batch = env('BATCH', 1000);

const doc = MapDocument.load(fileURLToPath(new URL('../../examples/maps/shop.json', import.meta.url)));
const names = JSON.parse(doc.toJson()).maps[0].touchpoints.flatMap((t) => t.events ?? []);
const channels = ['web', 'mobile_app', 'email', 'phone', 'chat'];

// A linear congruential generator, as in the Rust benchmark.
let seed = 42n;
const next = () => {
  seed = (seed * 6364136223846793005n + 1442695040888963407n) & 0xffff_ffff_ffff_ffffn;
  return Number(seed >> 33n);
};
const T0 = 1_736_121_600_000_000;
const log = [];
for (let n = 0; n < events; n++) {
  const p = next() % profiles;
  const event = { ts: T0 + n * 20_000, keys: [`session:${p.toString(16).padStart(8, '0')}`], event: names[next() % names.length], channel: channels[next() % 5] };
  if (next() % 10 === 0) event.keys.push(`email:${p % Math.max(1, Math.floor(profiles / 2))}@example.com`);
  if (next() % 4 === 0) event.properties = { value: next() % 1000 };
  log.push(event);
}

const tracker = new Tracker(doc);
let fired = 0;
const start = process.hrtime.bigint();
for (let i = 0; i < events; i += batch) {
  for (const tracked of await tracker.trackBatch(log.slice(i, i + batch))) fired += tracked.actions.length;
}
const secs = Number(process.hrtime.bigint() - start) / 1e9;
const stored = await tracker.count();
console.log(`trackBatch: ${events} events over ${profiles} keys (${stored} profiles), batches of ${batch}, memory store`);
console.log(`  throughput ${Math.round(events / secs)} events/s (${secs.toFixed(2)} s), ${fired} actions fired`);
tracker.close();

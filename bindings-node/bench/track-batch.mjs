// Tracking speed from Node: batches of events into the in-memory store and into a SQLite
// file, with the shop map grown to 20 waypoints as the Rust benchmarks grow it
// (benches/common: WAYPOINTS=5 keeps the map's own), through `trackBatch` (one result object per
// event) and `ingest` (one summary per batch). Events are generated like journey-core's
// Rust benchmark (benches/track.rs): deterministic, 10% with a second key, 25% with a
// property. Prints events/s for each store and method.
//
// Run from the repository root (after `bash bindings-node/scripts/test.sh` built the addon):
//   node bindings-node/bench/track-batch.mjs      (EVENTS, PROFILES, BATCH to resize;
//                                                  STORES=memory,sqlite METHODS=ingest,trackBatch;
//                                                  DEPTH=1 batches in flight: 2 overlaps them)
// Event writes apply in call order, so with DEPTH=2 the main thread converts the next batch
// while the thread pool tracks the previous one.
// Compare with the same batches from Rust, in the same run:
//   cargo bench -p journey-core --bench sqlite    (memory and SQLite, batches of 1,000)
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { MapDocument, Tracker } from '../index.js';

const env = (name, fallback) => Number(process.env[name] ?? fallback);
const list = (name, fallback) => (process.env[name] ?? fallback).split(',');
const events = env('EVENTS', 1_000_000);
const profiles = env('PROFILES', 100_000);
const batch = env('BATCH', 1000);
const depth = Math.max(1, env('DEPTH', 1));

const shop = JSON.parse(MapDocument.load(fileURLToPath(new URL('../../examples/maps/shop.json', import.meta.url))).toJson());
const map = shop.maps[0];
const tps = map.touchpoints.map((t) => t.id);
for (let i = 0; map.waypoints.length < env('WAYPOINTS', 20); i++) {
  map.waypoints.push({
    id: `extra${i}`,
    trigger: { touchpoint: tps[(i * 7) % tps.length] },
    condition: { any: [{ touchpoint: tps[(i * 7 + 3) % tps.length] }, { property: { name: 'value', op: '>', value: 900 } }] },
    within: `${5 + i}m`,
    on_missed: [{ kind: 'sms' }],
    cap: { cooldown: '1d' },
  });
}
const doc = MapDocument.fromJson(JSON.stringify(shop));
const names = map.touchpoints.flatMap((t) => t.events ?? []);
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
const batches = [];
for (let i = 0; i < events; i += batch) batches.push(log.slice(i, i + batch));

// CPU seconds used so far by the event loop's thread and by all the others (the thread pool,
// SQLite's writer, V8's helpers), from /proc (Linux; zeros elsewhere): which side bounds the rate.
const threadCpu = () => {
  const cpu = { main: 0, others: 0 };
  let tasks = [];
  try {
    tasks = readdirSync('/proc/self/task');
  } catch {
    return cpu;
  }
  for (const task of tasks) {
    let stat;
    try {
      stat = readFileSync(`/proc/self/task/${task}/stat`, 'utf8');
    } catch {
      continue;
    }
    // utime and stime, fields 14 and 15 of stat(5), in clock ticks (100 a second here).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const secs = (Number(fields[11]) + Number(fields[12])) / 100;
    cpu[task === String(process.pid) ? 'main' : 'others'] += secs;
  }
  return cpu;
};

const dir = mkdtempSync(join(tmpdir(), 'jc-bench-'));
console.log(`${events} events over ${profiles} keys, batches of ${batch}, ${depth} in flight, shop map with ${map.waypoints.length} waypoints`);
for (const store of list('STORES', 'memory,sqlite')) {
  for (const method of list('METHODS', 'ingest,trackBatch')) {
    const options = store === 'sqlite' ? { path: join(dir, `${method}.db`) } : {};
    const tracker = new Tracker(doc, options);
    let fired = 0;
    const cpuBefore = threadCpu();
    const start = process.hrtime.bigint();
    const count = (result) => {
      if (method === 'ingest') fired += result.actions.length;
      else for (const tracked of result) fired += tracked.actions.length;
    };
    const inFlight = [];
    for (const b of batches) {
      inFlight.push(method === 'ingest' ? tracker.ingest(b) : tracker.trackBatch(b));
      if (inFlight.length >= depth) count(await inFlight.shift());
    }
    while (inFlight.length > 0) count(await inFlight.shift());
    const secs = Number(process.hrtime.bigint() - start) / 1e9;
    const cpuAfter = threadCpu();
    const busy = `event loop busy ${(cpuAfter.main - cpuBefore.main).toFixed(2)} s, other threads ${(cpuAfter.others - cpuBefore.others).toFixed(2)} s`;
    const stored = await tracker.count();
    await tracker.close();
    console.log(`  ${store.padEnd(6)} ${method.padEnd(10)} ${String(Math.round(events / secs)).padStart(8)} events/s (${secs.toFixed(2)} s), ${stored} profiles, ${fired} actions fired; ${busy}`);
  }
}
rmSync(dir, { recursive: true, force: true });

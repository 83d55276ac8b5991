// Tracking speed from Node: batches of events into the in-memory store and into a SQLite
// file, with the shop map grown to 20 waypoints as the Rust benchmarks grow it
// (WAYPOINTS=5 keeps the map's own, 0 none), through `trackBatch` (one result object per
// event) and `ingest` (one summary per batch). Events are generated like journey-core's
// Rust benchmark (benches/track.rs): deterministic, 10% with a second key, 25% with a
// property. Prints events/s for each store and method.
//
// Run from the repository root (after `bash bindings-node/scripts/test.sh` built the addon):
//   node bindings-node/bench/track-batch.mjs      (EVENTS, PROFILES, BATCH to resize;
//                                                  STORES=memory,sqlite METHODS=ingest,trackBatch;
//                                                  DEPTH=1 batches in flight: 2 or more
//                                                  overlap them, 3 did best on 2 cores)
// Event writes apply in call order, so with DEPTH=2 or more the main thread converts the
// next batches while the thread pool tracks the previous one.
// Compare with the same batches from Rust, in the same run:
//   cargo bench -p journey-core --bench sqlite    (memory and SQLite, batches of 1,000)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Tracker } from '../index.js';
import { busy, env, eventLog, shopMap, threadCpu } from './common.mjs';

const list = (name, fallback) => (process.env[name] ?? fallback).split(',');
const events = env('EVENTS', 1_000_000);
const profiles = env('PROFILES', 100_000);
const batch = env('BATCH', 1000);
const depth = Math.max(1, env('DEPTH', 1));

const { doc, map } = shopMap(env('WAYPOINTS', 20));
const log = eventLog(map, events, profiles);
const batches = [];
for (let i = 0; i < events; i += batch) batches.push(log.slice(i, i + batch));

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
    const cpu = busy(cpuBefore, threadCpu());
    const stored = await tracker.count();
    await tracker.close();
    console.log(`  ${store.padEnd(6)} ${method.padEnd(10)} ${String(Math.round(events / secs)).padStart(8)} events/s (${secs.toFixed(2)} s), ${stored} profiles, ${fired} actions fired; ${cpu}`);
  }
}
rmSync(dir, { recursive: true, force: true });

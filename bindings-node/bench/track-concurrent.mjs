// Single events from many requests at once, as a shop server tracks page views: `track`
// (one event, one transaction) with CONCURRENCY calls in flight, into memory and into a
// SQLite file, with the shop map grown to 20 waypoints as in track-batch.mjs. Prints
// events/s and how busy the event loop and the other threads were.
//
// Run from the repository root (after `bash bindings-node/scripts/test.sh` built the addon):
//   node bindings-node/bench/track-concurrent.mjs   (EVENTS, PROFILES, CONCURRENCY, STORES=memory,sqlite)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Tracker } from '../index.js';
import { busy, env, eventLog, shopMap, threadCpu } from './common.mjs';

const events = env('EVENTS', 100_000);
const profiles = env('PROFILES', 10_000);
const concurrency = Math.max(1, env('CONCURRENCY', 64));

const { doc, map } = shopMap(20);
const log = eventLog(map, events, profiles);

const dir = mkdtempSync(join(tmpdir(), 'jc-bench-'));
console.log(`${events} single events over ${profiles} keys, ${concurrency} calls in flight, shop map with ${map.waypoints.length} waypoints`);
for (const store of (process.env.STORES ?? 'memory,sqlite').split(',')) {
  const tracker = new Tracker(doc, store === 'sqlite' ? { path: join(dir, 'concurrent.db') } : {});
  let fired = 0;
  let at = 0;
  const cpuBefore = threadCpu();
  const start = process.hrtime.bigint();
  // CONCURRENCY callers, each tracking the next event as soon as its previous one is done.
  const caller = async () => {
    while (at < log.length) {
      const tracked = await tracker.track(log[at++]);
      fired += tracked.actions.length;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, caller));
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = busy(cpuBefore, threadCpu());
  const stored = await tracker.count();
  await tracker.close();
  console.log(
    `  ${store.padEnd(6)} track ${String(Math.round(events / secs)).padStart(8)} events/s (${secs.toFixed(2)} s), ${stored} profiles, ${fired} actions fired; ${cpu}`,
  );
}
rmSync(dir, { recursive: true, force: true });

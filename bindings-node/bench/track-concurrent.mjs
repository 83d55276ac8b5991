// Single events from many requests at once, as a shop server tracks page views: `track`
// (one event, one transaction) with CONCURRENCY calls in flight, into memory and into a
// SQLite file, with the shop map grown to 20 waypoints as in track-batch.mjs. Prints
// events/s and how busy the event loop and the other threads were.
//
// Run from the repository root (after `bash bindings-node/scripts/test.sh` built the addon):
//   node bindings-node/bench/track-concurrent.mjs   (EVENTS, PROFILES, CONCURRENCY, STORES=memory,sqlite)
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { MapDocument, Tracker } from '../index.js';

const env = (name, fallback) => Number(process.env[name] ?? fallback);
const events = env('EVENTS', 100_000);
const profiles = env('PROFILES', 10_000);
const concurrency = Math.max(1, env('CONCURRENCY', 64));

const shop = JSON.parse(MapDocument.load(fileURLToPath(new URL('../../examples/maps/shop.json', import.meta.url))).toJson());
const map = shop.maps[0];
const tps = map.touchpoints.map((t) => t.id);
for (let i = 0; map.waypoints.length < 20; i++) {
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

// CPU seconds of the event loop's thread and of all the others, from /proc (Linux).
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
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    cpu[task === String(process.pid) ? 'main' : 'others'] += (Number(fields[11]) + Number(fields[12])) / 100;
  }
  return cpu;
};

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
  const cpuAfter = threadCpu();
  const stored = await tracker.count();
  await tracker.close();
  console.log(
    `  ${store.padEnd(6)} track ${String(Math.round(events / secs)).padStart(8)} events/s (${secs.toFixed(2)} s), ${stored} profiles, ${fired} actions fired; ` +
      `event loop busy ${(cpuAfter.main - cpuBefore.main).toFixed(2)} s, other threads ${(cpuAfter.others - cpuBefore.others).toFixed(2)} s`,
  );
}
rmSync(dir, { recursive: true, force: true });

// What the Node benchmarks share: the shop map grown to a number of waypoints as the Rust
// benchmarks grow it (journey-core/benches/common), the deterministic event log of the Rust
// benchmark (10% with a second key, 25% with a property), and per-thread CPU time.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { MapDocument } from '../index.js';

/** A number from the environment variable `name`, else `fallback`. */
export const env = (name, fallback) => Number(process.env[name] ?? fallback);

/** The shop map with `waypoints` waypoints (its own, then generated ones; fewer: its first ones): `{ doc, map }`. */
export function shopMap(waypoints) {
  const shop = JSON.parse(MapDocument.load(fileURLToPath(new URL('../../examples/maps/shop.json', import.meta.url))).toJson());
  const map = shop.maps[0];
  map.waypoints = map.waypoints.slice(0, waypoints);
  const tps = map.touchpoints.map((t) => t.id);
  for (let i = 0; map.waypoints.length < waypoints; i++) {
    map.waypoints.push({
      id: `extra${i}`,
      trigger: { touchpoint: tps[(i * 7) % tps.length] },
      condition: { any: [{ touchpoint: tps[(i * 7 + 3) % tps.length] }, { property: { name: 'value', op: '>', value: 900 } }] },
      within: `${5 + i}m`,
      on_missed: [{ kind: 'sms' }],
      cap: { cooldown: '1d' },
    });
  }
  return { doc: MapDocument.fromJson(JSON.stringify(shop)), map };
}

/** `events` events over `profiles` session keys of `map`, as the Rust benchmark makes them. */
export function eventLog(map, events, profiles) {
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
  return log;
}

/**
 * CPU seconds used so far by the event loop's thread and by all the others (the thread
 * pool, SQLite's writer, V8's helpers), from /proc (Linux; zeros elsewhere): which side
 * bounds the rate.
 */
export function threadCpu() {
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
    cpu[task === String(process.pid) ? 'main' : 'others'] += (Number(fields[11]) + Number(fields[12])) / 100;
  }
  return cpu;
}

/** How busy the event loop and the other threads were between two `threadCpu()` readings. */
export const busy = (before, after) =>
  `event loop busy ${(after.main - before.main).toFixed(2)} s, other threads ${(after.others - before.others).toFixed(2)} s`;

// The tracker in a process of its own: the clock and listeners never keep Node alive,
// and a throwing listener does not harm the tracker.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const helpers = fileURLToPath(new URL('./helpers.mjs', import.meta.url));

/** Runs an ES module script (with the helpers imported) in a child process. */
function run(body) {
  const script = `
    import { Tracker } from 'journey-core';
    import { T0, MIN, ev, quickMap, shop, waitFor } from ${JSON.stringify(helpers)};
    ${body}
  `;
  const started = Date.now();
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { ...child, ms: Date.now() - started };
}

test('a running clock and listeners never keep the process alive', () => {
  const child = run(`
    const t = new Tracker(quickMap('50ms'));
    t.on('action', (a) => console.log('action', a.outcome));
    await t.track(ev(Date.now() * 1000, 'session:c', 'start'));
    t.startClock(10);
    setTimeout(() => console.log('done'), 300);
  `);
  assert.equal(child.error, undefined, 'the process exited by itself');
  assert.equal(child.status, 0, child.stderr);
  assert.match(child.stdout, /action missed\n/);
  assert.match(child.stdout, /done\n$/);
  assert.ok(child.ms < 10_000, `took ${child.ms} ms`);
});

test('a process exits with the clock running and nothing else to do', () => {
  const child = run(`
    const t = new Tracker(shop());
    t.on('action', () => {});
    t.startClock(1);
    console.log('started');
  `);
  assert.equal(child.error, undefined, 'the process exited by itself');
  assert.equal(child.status, 0, child.stderr);
  assert.equal(child.stdout, 'started\n');
});

test('close stops the clock and the process exits', () => {
  const child = run(`
    const t = new Tracker(shop());
    t.startClock(5);
    await t.track(ev(T0, 'session:a', 'product_view'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    t.close();
    console.log('closed', t.closed);
  `);
  assert.equal(child.status, 0, child.stderr);
  assert.equal(child.stdout, 'closed true\n');
});

test('a throwing listener is an uncaught exception that leaves the tracker working', () => {
  const child = run(`
    process.on('uncaughtException', (err) => console.log('uncaught:', err.message));
    const t = new Tracker(shop());
    const seen = [];
    t.on('action', (a) => { throw new Error('listener failed on ' + a.waypoint); });
    t.on('action', (a) => seen.push(a.waypoint));
    await t.track(ev(T0, 'session:a', 'add_to_cart'));
    await t.track(ev(T0 + 1, 'session:a', 'remove_from_cart'));
    await waitFor(() => seen.length === 1, 3000, 'the first action');
    const later = await t.advance(T0 + 60 * MIN);
    await waitFor(() => seen.length === 2, 3000, 'the second action');
    console.log('seen:', seen.join(','), 'pending:', (await t.pendingActions()).length);
  `);
  assert.equal(child.status, 0, child.stderr);
  assert.match(child.stdout, /uncaught: listener failed on anonymous_cart_callback\n/);
  assert.match(child.stdout, /uncaught: listener failed on cart_abandoned\n/);
  assert.match(child.stdout, /seen: anonymous_cart_callback,cart_abandoned pending: 2\n/);
});

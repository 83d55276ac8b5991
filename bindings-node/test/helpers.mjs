// Shared by the tracker tests: the example map, event builders, times and a poller.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { MapDocument } from 'journey-core';

export const repo = fileURLToPath(new URL('../../', import.meta.url));

/** 2025-01-06T00:00:00Z in microseconds since the Unix epoch. */
export const T0 = 1_736_121_600_000_000;
/** One minute in microseconds. */
export const MIN = 60_000_000;

/** A fresh folder under the system's temporary folder, removed when the test file's process exits. */
export function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The shop map of examples/maps (its waypoints: anonymous cart callback, abandoned cart...). */
export const shop = () => MapDocument.load(join(repo, 'examples/maps/shop.json'));

/** An event object as `track` takes it. */
export const ev = (ts, keys, event, channel = 'web', extra = {}) => ({ ts, keys: [].concat(keys), event, channel, ...extra });

/** A one-map document with a waypoint missed `within` after a `start` event unless `finish` follows. */
export function quickMap(within) {
  return MapDocument.fromJson(
    JSON.stringify({
      name: 'Clock',
      personas: [{ id: 'p', name: 'P' }],
      maps: [
        {
          id: 'quick',
          name: 'Quick',
          persona: 'p',
          phases: [
            { id: 'a', name: 'A' },
            { id: 'b', name: 'B' },
          ],
          touchpoints: [
            { id: 'start', name: 'Start', phase: 'a', events: ['start'] },
            { id: 'finish', name: 'Finish', phase: 'b', events: ['finish'] },
          ],
          waypoints: [
            {
              id: 'finish_quickly',
              trigger: { touchpoint: 'start' },
              condition: { touchpoint: 'finish' },
              within,
              on_missed: [{ kind: 'sms', payload: { text: 'still there?' } }],
            },
          ],
        },
      ],
    }),
  );
}

/** Waits until `check()` returns a truthy value (polling), or fails after `ms`. */
export async function waitFor(check, ms = 3000, what = 'the condition') {
  const end = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > end) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Lets queued listener calls run (they are delivered on the event loop). */
export const settle = () => new Promise((resolve) => setTimeout(resolve, 30));

/** Awaits a promise that must reject, asserts it rejects with an `Error`, returns the error. */
export async function rejected(promise) {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof Error, `expected an Error instance, got ${err}`);
    return err;
  }
  assert.fail('expected a rejection');
}

/** Runs `fn`, asserts it throws an `Error`, returns the error. */
export function thrown(fn) {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof Error, `expected an Error instance, got ${err}`);
    return err;
  }
  assert.fail('expected an error');
}

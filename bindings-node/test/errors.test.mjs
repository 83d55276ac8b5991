// One test per error code, each with the input that causes it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { ErrorCode, MapDocument, normalizeEmotion, presetPhases } from 'journey-core';

import { tempDir } from './helpers.mjs';

const packageDir = fileURLToPath(new URL('..', import.meta.url));

/** Runs `fn`, asserts it throws an `Error`, and returns the error. */
function thrown(fn) {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof Error, `expected an Error instance, got ${err}`);
    return err;
  }
  assert.fail('expected an error');
}

const valid = {
  name: 'Shop',
  personas: [{ id: 'buyer', name: 'Buyer' }],
  maps: [
    {
      id: 'buy',
      name: 'Buying',
      persona: 'buyer',
      phases: [{ id: 'consideration', name: 'Consideration' }],
      touchpoints: [{ id: 'pdp', name: 'Product page', phase: 'consideration', events: ['product_view'] }],
    },
  ],
};

test('ErrorCode lists every code', () => {
  assert.deepEqual(
    { ...ErrorCode },
    {
      Parse: 'E_PARSE',
      Validation: 'E_VALIDATION',
      Emotion: 'E_EMOTION',
      NotFound: 'E_NOT_FOUND',
      Io: 'E_IO',
      BadEvent: 'E_BAD_EVENT',
      Limit: 'E_LIMIT',
      Storage: 'E_STORAGE',
      Conflict: 'E_CONFLICT',
      Closed: 'E_CLOSED',
      Internal: 'E_INTERNAL',
    },
  );
});

test('E_PARSE: an unknown field, with its path', () => {
  const doc = structuredClone(valid);
  doc.maps[0].touchpoints[0].chanels = ['web'];
  const err = thrown(() => MapDocument.fromJson(JSON.stringify(doc)));
  assert.equal(err.code, 'E_PARSE');
  assert.equal(err.path, 'maps[0].touchpoints[0].chanels');
  assert.equal(err.file, null);
  assert.match(err.message, /maps\[0\]\.touchpoints\[0\]\.chanels: unknown field `chanels`/);
});

test('E_PARSE: a wrong type, with its path', () => {
  const doc = structuredClone(valid);
  doc.maps[0].touchpoints[0].emotion = 'happy';
  const err = thrown(() => MapDocument.fromJson(JSON.stringify(doc)));
  assert.equal(err.code, ErrorCode.Parse);
  assert.equal(err.path, 'maps[0].touchpoints[0].emotion');
});

test('E_PARSE: malformed JSON', () => {
  const err = thrown(() => MapDocument.fromJson('{"name": '));
  assert.equal(err.code, 'E_PARSE');
  assert.equal(typeof err.path, 'string');
});

test('E_PARSE: a bad file names the file', () => {
  const file = join(tempDir('journey-core-node-'), 'bad.json');
  writeFileSync(file, JSON.stringify({ ...valid, version: 99 }));
  const err = thrown(() => MapDocument.load(file));
  assert.equal(err.code, 'E_PARSE');
  assert.equal(err.path, 'version');
  assert.equal(err.file, file);
  assert.ok(err.message.startsWith(`${file}: version: `), err.message);
});

test('E_PARSE: an unknown emotion scale', () => {
  const err = thrown(() => normalizeEmotion(4, 'stars'));
  assert.equal(err.code, 'E_PARSE');
  assert.equal(err.path, 'scale');
  assert.match(err.message, /unknown scale "stars"/);
});

test('E_VALIDATION: every problem as data, with kinds and paths', () => {
  const doc = structuredClone(valid);
  doc.maps[0].persona = 'ghost';
  doc.maps[0].phases.push({ id: 'usage', name: 'Usage' });
  doc.maps[0].touchpoints.push({ id: 'again', name: 'Again', phase: 'nowhere', events: ['product_view'] });
  const parsed = MapDocument.fromJson(JSON.stringify(doc));
  const err = thrown(() => parsed.validate());
  assert.equal(err.code, 'E_VALIDATION');
  assert.ok(Array.isArray(err.problems));
  assert.deepEqual(
    err.problems.map((p) => [p.kind, p.path]),
    [
      ['unknown_persona', 'maps[0].persona'],
      ['empty_phase', 'maps[0].phases[1]'],
      ['unknown_phase', 'maps[0].touchpoints[1].phase'],
      ['event_claimed_twice', 'maps[0].touchpoints[1].events[0]'],
    ],
  );
  assert.deepEqual(err.problems, parsed.problems());
  assert.match(err.message, /4 problems/);
  for (const p of err.problems) assert.ok(err.message.includes(`${p.path}: ${p.message}`), p.path);
});

test('E_EMOTION: csat 6 is out of range, never clamped', () => {
  const err = thrown(() => normalizeEmotion(6, 'csat'));
  assert.equal(err.code, 'E_EMOTION');
  assert.equal(err.scale, 'csat');
  assert.equal(err.value, '6');
  assert.equal(err.message, 'csat rating 6 is out of range: expected an integer from 1 to 5');
});

test('E_EMOTION: a value of the wrong type for its scale', () => {
  assert.throws(() => normalizeEmotion('happy', 'label'), { code: 'E_EMOTION', scale: 'label' });
  assert.throws(() => normalizeEmotion('4', 'csat'), { code: 'E_EMOTION', scale: 'csat' });
  assert.throws(() => normalizeEmotion(Number.NaN), { code: 'E_EMOTION', scale: 'score' });
});

test('E_NOT_FOUND: an unknown map id', () => {
  const doc = MapDocument.fromJson(JSON.stringify(valid));
  for (const draw of [() => doc.toMermaid('nope'), () => doc.toSvg('nope')]) {
    const err = thrown(draw);
    assert.equal(err.code, 'E_NOT_FOUND');
    assert.equal(err.what, 'map');
    assert.equal(err.id, 'nope');
    assert.equal(err.message, 'no map with id "nope"');
  }
});

test('E_NOT_FOUND: a document without maps has no first map', () => {
  const doc = MapDocument.fromJson(JSON.stringify({ ...valid, maps: [] }));
  assert.throws(() => doc.toMermaid(), { code: 'E_NOT_FOUND', what: 'map' });
});

test('E_NOT_FOUND: an unknown preset', () => {
  assert.throws(() => presetPhases('hourglass'), { code: 'E_NOT_FOUND', what: 'preset', id: 'hourglass' });
});

test('E_IO: a missing file', () => {
  const file = join(tmpdir(), 'journey-core-no-such-dir', 'missing.json');
  const err = thrown(() => MapDocument.load(file));
  assert.equal(err.code, 'E_IO');
  assert.equal(err.path, file);
  assert.ok(err.message.startsWith(`${file}: `), err.message);
  assert.match(err.message, /No such file or directory/);
});

test('E_IO: saving into a missing folder', () => {
  const doc = MapDocument.fromJson(JSON.stringify(valid));
  const file = join(tmpdir(), 'journey-core-no-such-dir', 'out.json');
  assert.throws(() => doc.save(file), { code: 'E_IO', path: file });
});

test('E_INTERNAL: a Rust panic becomes an error, not a crash', () => {
  // In a child process, so the panic message Rust prints stays out of the test output.
  const script = `
    const journey = require(${JSON.stringify(packageDir)});
    let err;
    try { journey.__panicForTesting(); } catch (e) { err = e; }
    console.log(JSON.stringify({
      isError: err instanceof Error, code: err && err.code, message: err && err.message,
      after: journey.normalizeEmotion(4, 'csat'),
    }));
  `;
  const child = spawnSync(process.execPath, ['-e', script], {
    encoding: 'utf8',
    env: { ...process.env, RUST_BACKTRACE: '0' },
  });
  assert.equal(child.status, 0, child.stderr);
  const result = JSON.parse(child.stdout);
  assert.equal(result.isError, true);
  assert.equal(result.code, 'E_INTERNAL');
  assert.match(result.message, /internal error .*deliberate panic for testing/);
  assert.equal(result.after, 0.5, 'the addon still works after a panic');
  assert.match(child.stderr, /panicked/);
});

test('E_INTERNAL: a panic on the thread pool rejects the Promise, not the process', () => {
  const script = `
    const journey = require(${JSON.stringify(packageDir)});
    journey.__panicInTaskForTesting().then(
      () => console.log(JSON.stringify({ resolved: true })),
      (err) => console.log(JSON.stringify({
        isError: err instanceof Error, code: err.code, message: err.message,
        after: journey.normalizeEmotion(4, 'csat'),
      })),
    );
  `;
  const child = spawnSync(process.execPath, ['-e', script], {
    encoding: 'utf8',
    env: { ...process.env, RUST_BACKTRACE: '0' },
  });
  assert.equal(child.status, 0, child.stderr);
  const result = JSON.parse(child.stdout);
  assert.equal(result.isError, true);
  assert.equal(result.code, 'E_INTERNAL');
  assert.match(result.message, /internal error .*deliberate panic on the thread pool/);
  assert.equal(result.after, 0.5, 'the addon still works after a panic');
});

test('wrong argument types are napi errors, not crashes', () => {
  assert.throws(() => MapDocument.fromJson(42));
  assert.throws(() => presetPhases());
});

// Mergeable measures from Node: partial states of parts of the journeys, shipped as bytes,
// merged in any order, finish to exactly the one-pass results (the core proves it for
// random data; here: the binding, on the benchmark kit's small set split in three by
// profile, and every error with the input that causes it).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { Analysis, Partials, fromBenchDesign } from 'journey-core';

import { rejected, repo, shop, thrown } from './helpers.mjs';

const small = join(repo, 'journey-core/tests/data/bench-small');
const design = fromBenchDesign(readFileSync(join(small, 'design.json'), 'utf8'));
const expected = (name) => JSON.parse(readFileSync(join(small, 'expected', `${name}.json`), 'utf8'));
const STEPS = ['product_view', 'add_to_cart', 'checkout_start', 'payment', 'order_confirmed'];
/** The core's PartialOptions (snake_case), as the Python test asks for them. */
const MEASURES = {
  reach: true,
  funnels: [{ steps: STEPS.map((s) => [s]) }],
  funnel_breakdowns: [{ funnel: { steps: [['product_view'], ['order_confirmed']] }, by: 'channel' }],
  transitions: ['event', 'touchpoint', 'phase'],
  paths: {},
  emotion: {},
  gray_areas: {},
  conformance: true,
  key_moments: { outcome: { touchpoint: 'order_confirmation' } },
  hypotheses: {},
};
const SKETCH = { quantiles: { sketch: { relative_accuracy: 0.01 } } };

let dir;
/** The whole small set with every key replaced by its profile, and its three parts. */
let whole, parts;

/** FNV-1a of a string: the part a profile goes to. */
function bucket(text, n) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h % n;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'jc-partials-'));
  // Stitched once over all the data (links, no limits), as a cluster would hand the events
  // over: the key column holds the profile, the seq column the global arrival order.
  const stitched = await Analysis.fromCsv(design, join(small, 'events.csv'), join(small, 'links.csv'), { withoutLimits: true });
  const [head, ...rows] = readFileSync(join(small, 'events.csv'), 'utf8').trim().split('\n');
  const keyColumn = head.split(',').indexOf('"customer_key"');
  const lines = [[], [], []];
  const all = rows.map((row) => {
    const fields = row.split(',');
    const profile = stitched.profileOf(JSON.parse(fields[keyColumn]));
    fields[keyColumn] = JSON.stringify(profile);
    const line = fields.join(',');
    lines[bucket(profile, 3)].push(line);
    return line;
  });
  const file = (name, body) => {
    const path = join(dir, name);
    writeFileSync(path, [head, ...body].join('\n') + '\n');
    return path;
  };
  whole = await Analysis.fromCsv(design, file('all.csv', all));
  parts = await Promise.all(lines.map((body, i) => Analysis.fromCsv(design, file(`part${i}.csv`, body))));
  assert.equal(stitched.journeys, whole.journeys);
  assert.deepEqual(parts.map((p) => p.events).reduce((a, b) => a + b), 20_000);
  assert.ok(parts.every((p) => p.journeys > 500), 'three real parts');
});

after(() => rmSync(dir, { recursive: true, force: true }));

/** A result with its floats rounded to the 9 decimals of the kit's reference outputs. */
const rounded = (value) => JSON.parse(JSON.stringify(value, (_, v) => (typeof v === 'number' && !Number.isInteger(v) ? Number(v.toFixed(9)) : v)));

/** Merges states (bytes) in the order given, each read back from its bytes. */
function mergeBytes(states, order) {
  const merged = Partials.fromBytes(states[order[0]]);
  for (const i of order.slice(1)) merged.merge(Partials.fromBytes(states[i]));
  return merged;
}

test('a split in three merged in any order and grouping equals one pass, and the reference outputs', async () => {
  const onePass = await whole.results(MEASURES);
  const states = await Promise.all(parts.map(async (p) => (await p.partials(MEASURES)).toBytes()));
  for (const s of states) {
    assert.ok(Buffer.isBuffer(s));
    assert.equal(s.subarray(0, 8).toString('latin1'), 'JCPARTS\n');
  }
  for (const order of [[0, 1, 2], [2, 0, 1]]) {
    const merged = mergeBytes(states, order);
    assert.equal(merged.journeys, whole.journeys);
    assert.equal(merged.events, 20_000);
    assert.deepEqual(await merged.finish(), onePass, `order ${order}`);
  }
  // (0 + (1 + 2)): a merged state merges like any other
  const right = mergeBytes(states, [1, 2]);
  const left = Partials.fromBytes(states[0]);
  left.merge(right);
  assert.deepEqual(await left.finish(), onePass);

  // ...the one pass is the single measures' results, and those the reference outputs.
  assert.deepEqual(onePass.reach, await whole.reach());
  assert.deepEqual(rounded(onePass.reach), expected('reach'));
  assert.deepEqual(onePass.funnels[0], await whole.funnel({ steps: STEPS }));
  assert.deepEqual(rounded(onePass.funnels[0].steps), expected('funnel').steps);
  assert.deepEqual(onePass.funnel_breakdowns[0], await whole.funnelBreakdown({ funnel: { steps: ['product_view', 'order_confirmed'] }, by: 'channel' }));
  assert.deepEqual(onePass.conformance, await whole.conformance());
  assert.deepEqual(onePass.hypotheses, await whole.hypotheses());
  assert.equal(onePass.relative_accuracy, null);
  assert.equal(onePass.stitch, null);
  assert.equal(onePass.emotion_by_persona, null);
  assert.ok(onePass.paths.top.length > 0 && onePass.gray_areas && onePass.key_moments && onePass.transitions && onePass.emotion);
});

test('bytes round-trip through a Buffer, a Uint8Array and a view into a larger buffer', async () => {
  const state = await parts[0].partials(MEASURES);
  const bytes = state.toBytes();
  const want = await state.finish();
  const copy = new Uint8Array(bytes);
  assert.ok(!Buffer.isBuffer(copy));
  const padded = Buffer.concat([Buffer.from('xxxxx'), bytes, Buffer.from('yyy')]);
  const view = new Uint8Array(padded.buffer, padded.byteOffset + 5, bytes.length);
  for (const input of [bytes, copy, view]) {
    const back = Partials.fromBytes(input);
    assert.ok(back instanceof Partials);
    assert.ok(back.toBytes().equals(bytes), 'the same bytes again');
    assert.deepEqual(await back.finish(), want);
  }
  assert.equal(state.journeys, parts[0].journeys);
});

test('a quantile sketch keeps counts exact and medians within its accuracy', async () => {
  const exactMeasures = { funnels: MEASURES.funnels, gray_areas: {} };
  const measures = { ...exactMeasures, ...SKETCH };
  const exact = await whole.results(exactMeasures);
  const states = await Promise.all(parts.map(async (p) => (await p.partials(measures)).toBytes()));
  const r = await mergeBytes(states, [2, 0, 1]).finish();
  assert.equal(r.relative_accuracy, 0.01);
  assert.equal(exact.relative_accuracy, null);
  const got = r.funnels[0].time_to_convert;
  const want = exact.funnels[0].time_to_convert;
  assert.equal(got.relative_accuracy, 0.01);
  assert.ok(!('relative_accuracy' in want));
  assert.deepEqual([got.journeys, got.histogram], [want.journeys, want.histogram]);
  assert.deepEqual(r.funnels[0].steps, exact.funnels[0].steps);
  assert.notEqual(got.median_us, want.median_us, 'an estimate, not the exact value');
  assert.ok(Math.abs(got.median_us - want.median_us) <= 0.01 * want.median_us, `median ${got.median_us} vs ${want.median_us}`);
  assert.ok(Math.abs(got.p90_us - want.p90_us) <= 0.01 * want.p90_us + 0.5, `p90 ${got.p90_us} vs ${want.p90_us}`);
  assert.equal(r.gray_areas.median_gap_relative_accuracy, 0.01);
  // one pass gives the same estimates; the sketched states are smaller
  assert.deepEqual(await whole.results(measures), r);
  const exactStates = await Promise.all(parts.map(async (p) => (await p.partials(exactMeasures)).toBytes()));
  const size = (list) => list.reduce((n, b) => n + b.length, 0);
  assert.ok(size(states) < size(exactStates), `${size(states)} < ${size(exactStates)}`);
});

/** `bytes` with its header rewritten for `payload` (valid length and checksum). */
function withPayload(bytes, payload) {
  const header = Buffer.from(bytes.subarray(0, 28));
  header.writeBigUInt64LE(BigInt(payload.length), 12);
  createHash('sha256').update(payload).digest().copy(header, 20, 0, 8);
  return Buffer.concat([header, payload]);
}

test('bad bytes are refused with E_PARSE saying what is wrong', async () => {
  const good = (await parts[1].partials({ reach: true })).toBytes();
  const refused = (bytes, path, message) => {
    const err = thrown(() => Partials.fromBytes(bytes));
    assert.equal(err.code, 'E_PARSE', err.message);
    assert.equal(err.path, path);
    assert.match(err.message, message);
  };
  refused(Buffer.from('not a partial state'), 'partial', /truncated: 19 bytes/);
  refused(good.subarray(0, good.length - 10), 'partial', /truncated or padded/);
  const patched = (at, value) => {
    const b = Buffer.from(good);
    b[at] = value;
    return b;
  };
  refused(patched(0, 0x4b), 'partial', /magic/);
  refused(patched(8, 99), 'partial', /format version 99 is not supported \(written by a newer journey-core\)/);
  refused(patched(10, 1), 'partial', /flags/);
  refused(patched(good.length - 3, good[good.length - 3] ^ 1), 'partial', /checksum/);
  refused(patched(22, good[22] ^ 1), 'partial', /checksum/);
  const payload = JSON.parse(good.subarray(28).toString('utf8'));
  payload.state.journeys = 'many';
  refused(withPayload(good, Buffer.from(JSON.stringify(payload))), 'partial.state.journeys', /invalid type/);
  // (serde_path_to_error names the spot of a syntax error `?`)
  refused(withPayload(good, Buffer.from('{not json')), 'partial', /key must be a string/);
  for (const notBytes of ['JCPARTS', 42, null, {}, [1, 2]]) refused(notBytes, 'bytes', /expected a Buffer or Uint8Array/);
});

test('bad options reject with E_PARSE naming the field, in partials and results', async () => {
  for (const [options, path, message] of [
    [{ paths: { kk: 3 } }, 'paths.kk', /unknown field `kk`/],
    [{ reachByPersona: true }, 'reachByPersona', /unknown field .*reach_by_persona/],
    [{ funnels: [{ steps: ['product_view'] }] }, 'funnels[0].steps[0]', /expected a sequence/],
    [{ quantiles: 'approximate' }, 'quantiles', /unknown variant `approximate`/],
    [{ gray_areas: {}, quantiles: { sketch: { relative_accuracy: 0.5 } } }, 'quantiles.relative_accuracy', /between 0.0001 and 0.1/],
    [42, 'options', /expected an object/],
  ]) {
    for (const call of [(o) => parts[0].partials(o), (o) => parts[0].results(o)]) {
      const err = await rejected(call(options));
      assert.equal(err.code, 'E_PARSE', err.message);
      assert.equal(err.path, path);
      assert.match(err.message, message);
    }
  }
  const err = await rejected(parts[0].partials({ funnels: [{ steps: [['nowhere']], match_on: 'touchpoint' }] }));
  assert.equal(err.code, 'E_NOT_FOUND');
  assert.equal(err.id, 'nowhere');
});

test('merging states that do not fit is refused with the core path, the receiver unchanged', async () => {
  const mine = await parts[0].partials({ reach: true });
  const before = mine.toBytes();
  const refused = (other, path, message) => {
    const err = thrown(() => mine.merge(other));
    assert.equal(err.code, 'E_PARSE', err.message);
    assert.equal(err.path, path);
    assert.match(err.message, message);
    assert.ok(mine.toBytes().equals(before), 'unchanged');
  };
  refused(await parts[1].partials({ reach: true, conformance: true }), 'partial.header.options', /different measures/);
  refused(await parts[1].partials({ reach: true, ...SKETCH }), 'partial.header.options.quantiles', /keeping quantiles differently/);
  const limitless = await Analysis.fromCsv(design, join(dir, 'part1.csv'), null, { withoutLimits: true });
  refused(await limitless.partials({ reach: true }), 'partial.header.analysis', /different analysis options/);
  const other = await Analysis.fromEvents(shop(), [{ ts: 1, keys: ['session:a'], event: 'product_view', channel: 'web' }]);
  refused(await other.partials({ reach: true }), 'partial.header.map', /different maps/);
  refused(mine, 'other', /merged with itself/);
  assert.throws(() => mine.merge(before), /JsPartials|Partials/);
  assert.ok(mine.toBytes().equals(before));
  // and a fitting one still merges
  mine.merge(await parts[1].partials({ reach: true }));
  assert.equal(mine.journeys, parts[0].journeys + parts[1].journeys);
});

test('finishing a state that is not touched by a running finish: merge after finish started', async () => {
  const mine = await parts[0].partials(MEASURES);
  const alone = mine.finish(); // runs on the thread pool with the state as it was
  mine.merge(await parts[1].partials(MEASURES));
  const [first, both] = await Promise.all([alone, mine.finish()]);
  assert.deepEqual(first, await parts[0].results(MEASURES));
  assert.equal(both.reach.journeys, parts[0].journeys + parts[1].journeys);
});

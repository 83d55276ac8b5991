// Analytics: every source, every measure (equal to the benchmark kit's reference outputs
// on its small data set, as journey-core/tests/analytics_session.rs checks them), the
// tables through apache-arrow, and every error with the input that causes it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { Int32, tableFromArrays, tableFromIPC, tableToIPC, vectorFromArray } from 'apache-arrow';
import { Analysis, Tracker, fromBenchDesign } from 'journey-core';

import { MIN, T0, ev, rejected, repo, shop, thrown } from './helpers.mjs';

const small = join(repo, 'journey-core/tests/data/bench-small');
const design = () => fromBenchDesign(readFileSync(join(small, 'design.json'), 'utf8'));
const expected = (name) => JSON.parse(readFileSync(join(small, 'expected', `${name}.json`), 'utf8'));
/** The kit's parameters (journey-core `analytics::bench::BenchParams`). */
const FUNNEL = { steps: ['product_view', 'add_to_cart', 'checkout_start', 'payment', 'order_confirmed'] };
const KEY_MOMENTS = { outcome: { touchpoint: 'order_confirmation' }, minCount: 30 };

/** Deep equality where floats agree to the reference's 9 decimals. */
function same(got, want, path = '$') {
  if (typeof want === 'number' && typeof got === 'number') {
    assert.ok(Math.abs(got - want) <= 5e-10 * Math.max(1, Math.abs(want)), `${path}: ${got} != ${want}`);
  } else if (Array.isArray(want)) {
    assert.ok(Array.isArray(got), `${path}: not an array`);
    assert.equal(got.length, want.length, `${path}: length`);
    want.forEach((w, i) => same(got[i], w, `${path}[${i}]`));
  } else if (want && typeof want === 'object') {
    assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort(), `${path}: keys`);
    for (const k of Object.keys(want)) same(got[k], want[k], `${path}.${k}`);
  } else {
    assert.equal(got, want, path);
  }
}

/** CSV rows of the example data as objects (the kit's files hold no commas inside fields). */
function csv(file) {
  const [head, ...rows] = readFileSync(file, 'utf8').trim().split('\n');
  const names = head.split(',').map((h) => JSON.parse(h));
  return rows.map((r) => Object.fromEntries(r.split(',').map((f, i) => [names[i], f === '' ? null : JSON.parse(f)])));
}

let csvAnalysis;
const fromCsvWithoutLimits = async () =>
  (csvAnalysis ??= await Analysis.fromCsv(design(), join(small, 'events.csv'), join(small, 'links.csv'), { withoutLimits: true }));

test('every measure on the small data set equals the reference outputs', async () => {
  const a = await fromCsvWithoutLimits();
  assert.ok(a instanceof Analysis);
  assert.equal(a.events, 20_000);
  same(await a.reach(), expected('reach'));
  same(await a.funnel(FUNNEL), expected('funnel'));
  same(await a.transitions(), expected('transitions'));
  same(await a.paths(), expected('paths'));
  same(await a.emotion(), expected('emotion'));
  same(await a.grayAreas(), expected('gray_areas'));
  same(await a.conformance(), expected('conformance'));
  same(await a.keyMoments(KEY_MOMENTS), expected('key_moments'));
  const stitch = expected('stitch');
  const summary = await a.stitchSummary();
  for (const k of ['keys', 'profiles', 'journeys', 'profiles_without_events', 'largest_profile_keys']) assert.equal(summary[k], stitch[k], k);
  assert.equal(a.journeys, stitch.journeys);
  let checked = 0;
  for (const [key, canonical] of Object.entries(stitch.profile_of)) {
    assert.equal(a.profileOf(key), canonical, key);
    if (++checked === 300) break;
  }
  assert.equal(a.profileOf('session:never-seen'), null);
});

test('Parquet, Arrow IPC and event objects give the same analysis as CSV', async () => {
  const doc = design();
  const options = { withoutLimits: true };
  const fromCsv = await fromCsvWithoutLimits();
  const parquet = await Analysis.fromParquet(doc, join(small, 'events.parquet'), join(small, 'links.parquet'), options);

  const rows = csv(join(small, 'events.csv'));
  const links = csv(join(small, 'links.csv'));
  const events = tableFromArrays({
    ts: BigInt64Array.from(rows, (r) => BigInt(r.ts)),
    seq: BigInt64Array.from(rows, (r) => BigInt(r.seq)),
    customer_key: rows.map((r) => r.customer_key),
    event: rows.map((r) => r.event),
    channel: rows.map((r) => r.channel),
    department: rows.map((r) => r.department),
    csat: vectorFromArray(rows.map((r) => r.csat), new Int32()),
  });
  const linkTable = tableFromArrays({ key_a: links.map((l) => l.key_a), key_b: links.map((l) => l.key_b), ts: BigInt64Array.from(links, (l) => BigInt(l.ts)) });
  const arrow = await Analysis.fromArrow(doc, tableToIPC(events), tableToIPC(linkTable), options);

  const objects = rows.map((r) => ({
    ts: r.ts,
    keys: [r.customer_key],
    event: r.event,
    channel: r.channel,
    ...(r.department ? { department: r.department } : {}),
    ...(r.csat !== null ? { rating: { csat: r.csat } } : {}),
  }));
  const fromEvents = await Analysis.fromEvents(doc, objects, links.map((l) => ({ a: l.key_a, b: l.key_b, ts: l.ts })), options);

  const want = [await fromCsv.stitchSummary(), await fromCsv.funnel(FUNNEL), await fromCsv.conformance(), await fromCsv.hypotheses()];
  for (const [name, a] of [['parquet', parquet], ['arrow', arrow], ['events', fromEvents]]) {
    assert.equal(a.events, 20_000, name);
    assert.deepEqual([await a.stitchSummary(), await a.funnel(FUNNEL), await a.conformance(), await a.hypotheses()], want, name);
  }
});

test('Arrow IPC with other column names reads through a column mapping', async () => {
  const table = tableFromArrays({
    time: BigInt64Array.from([1n, 2n, 3n, 4n]),
    user: ['a', 'a', 'b', 'b'],
    email: ['ana@example.com', null, null, 'bo@example.com'],
    name: ['product_view', 'add_to_cart', 'product_view', 'add_to_cart'],
    via: ['web', 'web', 'mobile_app', 'web'],
    stars: vectorFromArray([5, null, 1, null], new Int32()),
    campaign: ['spring', 'spring', 'winter', 'winter'],
  });
  const columns = {
    ts: 'time',
    keys: [{ column: 'user', kind: 'session' }, { column: 'email', kind: 'email' }],
    event: 'name',
    channel: 'via',
    rating: { column: 'stars', scale: 'csat' },
  };
  const a = await Analysis.fromArrow(shop(), Buffer.from(tableToIPC(table)), null, { columns });
  assert.equal(a.events, 4);
  assert.equal(a.journeys, 2);
  assert.equal(a.profileOf('email:ana@example.com'), a.profileOf('session:a'));
  const by = await a.funnelBreakdown({ funnel: { steps: ['product_view', 'add_to_cart'] }, by: { property: 'campaign' } });
  assert.deepEqual(by.groups.map((g) => [g.value, g.journeys, g.converted]), [['spring', 1, 1], ['winter', 1, 1]]);

  const missing = await rejected(Analysis.fromArrow(shop(), tableToIPC(table), null, { columns: { ...columns, channel: 'nope' } }));
  assert.equal(missing.code, 'E_BAD_EVENT');
  assert.equal(missing.field, 'nope');
  const unmapped = await rejected(Analysis.fromArrow(shop(), tableToIPC(table)));
  assert.equal(unmapped.code, 'E_BAD_EVENT');
  assert.equal(unmapped.field, 'ts');
  const badMapping = await rejected(Analysis.fromArrow(shop(), tableToIPC(table), null, { columns: { time: 'ts' } }));
  assert.equal(badMapping.code, 'E_PARSE');
  assert.match(badMapping.path, /^columns/);
});

test('an analysis of a tracker store sees its profiles, personas and links', async () => {
  const t = new Tracker(shop());
  await t.ingest([ev(T0, 'session:a', 'product_view'), ev(T0 + MIN, 'session:a', 'add_to_cart'), ev(T0, 'session:b', 'product_view')]);
  await t.link('session:a', 'email:ana@example.com', T0 + 2 * MIN);
  await t.track(ev(T0 + 3 * MIN, 'email:ana@example.com', 'checkout_start'));
  const a = await Analysis.fromTracker(t);
  assert.equal(a.events, 4);
  assert.equal(a.journeys, 2);
  assert.equal(a.profileOf('email:ana@example.com'), a.profileOf('session:a'));
  const f = await a.funnel({ steps: ['product_view', 'add_to_cart', 'checkout_start'] });
  assert.deepEqual(f.steps.map((s) => s.journeys), [2, 1, 1]);
  await t.close();
  assert.equal((await rejected(Analysis.fromTracker(t))).code, 'E_CLOSED');
});

test('assignPersonas and setAttributes feed the persona and attribute measures', async () => {
  const doc = design();
  const events = [ev(1, 'session:a', 'product_view'), ev(2, 'session:a', 'add_to_cart'), ev(3, 'session:b', 'product_view')];
  const a = await Analysis.fromEvents(doc, events, [{ a: 'session:b', b: 'email:x@y', ts: 4 }]);
  assert.equal(a.profileOf('email:x@y'), 'email:x@y');
  assert.equal(a.mapId, doc.mapIds[0]);
  assert.ok(Array.isArray(a.properties));
  a.setAttributes({ 'session:a': { tier: 'gold' } });
  const by = await a.funnelBreakdown({ funnel: { steps: ['product_view', 'add_to_cart'] }, by: { attribute: 'tier' } });
  assert.deepEqual(by.groups.map((g) => g.value), ['gold', null]);
  const persona = JSON.parse(doc.toJson()).personas[0].id;
  const before = await a.reachByPersona();
  assert.equal(before.options.journeys_without_persona, 2);
  assert.equal(before.personas.find((g) => g.persona === persona).reach.journeys, 0);
  a.assignPersonas({ 'session:a': persona });
  const after = await a.reachByPersona();
  assert.equal(after.options.journeys_explicit, 1);
  assert.equal(after.personas.find((g) => g.persona === persona).reach.journeys, 1);
  assert.throws(() => a.setAttributes({ 'session:a': 1 }), { code: 'E_PARSE', path: 'attributes.session:a' });
  assert.throws(() => a.assignPersonas({ 'session:a': 7 }), { code: 'E_PARSE', path: 'assignments.session:a' });
  assert.throws(() => a.assignPersonas(null), { code: 'E_PARSE' });
});

test('every measure resolves to its typed result, carrying its options', async () => {
  const a = await Analysis.fromCsv(shop(), join(repo, 'examples/data/events.csv'), join(repo, 'examples/data/links.csv'));
  const reach = await a.reach();
  assert.equal(reach.phases.length, reach.options.phases.length);
  const byPersona = await a.reachByPersona();
  assert.ok(byPersona.personas.length >= 1 && 'journeys_without_persona' in byPersona.options);
  const f = await a.funnel({ ...FUNNEL, windowUs: null, match: 'event', strictOrder: true, exclusionSteps: [['support_call']] });
  assert.equal(f.options.window_us, null);
  assert.equal(f.options.strict_order, true);
  assert.equal(typeof f.excluded, 'number');
  for (const by of ['persona', 'channel', 'first_touchpoint', { attribute: 'tier' }]) {
    const b = await a.funnelBreakdown({ funnel: FUNNEL, by });
    assert.equal(b.total.journeys, a.journeys, JSON.stringify(by));
  }
  const touch = await a.transitions({ levels: ['touchpoint'] });
  assert.ok(touch.touchpoint && touch.event === undefined);
  const paths = await a.paths({ level: 'phase', k: 3, top: 5, separator: ' / ' });
  assert.ok(paths.top.length <= 5 && paths.top.some((p) => p.path.includes(' / ')), JSON.stringify(paths.top));
  assert.equal(paths.options.k, 3);
  const emotion = await a.emotion({ minCount: 5 });
  assert.equal(emotion.options.min_count, 5);
  assert.ok((await a.emotionByPersona()).personas.length >= 1);
  assert.equal((await a.grayAreas({ emotionWindow: 2 })).options.emotion_window, 2);
  assert.ok((await a.conformance()).fitness);
  assert.ok((await a.keyMoments({ outcome: { phase: 'purchase' }, minCount: 10 })).touchpoints.length > 0);
  const h = await a.hypotheses({ emotionTolerance: 0.5, keyMomentOutcome: { touchpoint: 'order_confirmation' } });
  assert.equal(h.options.emotion_tolerance, 0.5);
  assert.equal(h.confirmed + h.contradicted + h.not_enough_data, h.assumptions.length);
  const report = await a.report({ funnel: FUNNEL, grayAreasTop: 2, hypotheses: { minEvents: 10 } });
  assert.ok(report.gray_areas.length <= 2);
  assert.equal(report.funnel.steps.length, 5);
  const text = await a.reportText({ funnel: FUNNEL });
  assert.match(text, /Phase reach/);
});

test('tables come as Arrow IPC that apache-arrow reads, with the options as metadata', async () => {
  const a = await fromCsvWithoutLimits();
  const [steps, ...rest] = await a.tables('funnel', FUNNEL);
  assert.equal(steps.name, 'funnel_steps');
  assert.ok(rest.length >= 1);
  const table = tableFromIPC(steps.ipc);
  const want = expected('funnel');
  assert.equal(table.numRows, want.steps.length);
  assert.deepEqual(Array.from(table.getChild('journeys').toArray(), Number), want.steps.map((s) => s.journeys));
  assert.deepEqual(JSON.parse(table.schema.metadata.get('options')).steps, want.options.steps);
  const [reach] = await a.tables('reach');
  assert.deepEqual([...tableFromIPC(reach.ipc).getChild('phase')], expected('reach').phases.map((p) => p.phase));
  for (const [measure, options] of [
    ['stitch'], ['reachByPersona'], ['funnelBreakdown', { funnel: FUNNEL, by: 'channel' }], ['transitions'], ['paths'], ['emotion'],
    ['emotionByPersona'], ['grayAreas'], ['conformance'], ['keyMoments', KEY_MOMENTS], ['hypotheses'],
  ]) {
    const tables = await a.tables(measure, options);
    assert.ok(tables.length >= 1, measure);
    for (const t of tables) assert.ok(tableFromIPC(t.ipc).schema.fields.length > 0, `${measure}: ${t.name}`);
  }
  const journeys = await a.journeyTable();
  const jt = tableFromIPC(journeys.ipc);
  assert.equal(jt.numRows, a.journeys);
  assert.ok(jt.schema.fields.some((f) => f.name === 'duration'));
});

test('analytics errors carry a code and the field or path at fault', async () => {
  const doc = shop();
  const a = await Analysis.fromEvents(doc, [ev(T0, 'session:a', 'product_view')]);
  const cases = [
    [() => a.tables('nope'), 'E_PARSE', 'measure'],
    [() => a.tables('report'), 'E_PARSE', 'measure'],
    [() => a.funnel(undefined), 'E_PARSE', 'options'],
    [() => a.funnel({}), 'E_PARSE', 'steps'],
    [() => a.funnel({ steps: ['x'], windowUs: 'long' }), 'E_PARSE', 'windowUs'],
    [() => a.funnel({ steps: ['x'], match: 'page' }), 'E_PARSE', 'match'],
    [() => a.funnel({ steps: ['x'], typo: 1 }), 'E_PARSE', 'typo'],
    [() => a.funnelBreakdown({ funnel: FUNNEL }), 'E_PARSE', 'by'],
    [() => a.funnelBreakdown({ funnel: {}, by: 'persona' }), 'E_PARSE', 'funnel.steps'],
    [() => a.funnelBreakdown({ funnel: FUNNEL, by: 'colour' }), 'E_PARSE', 'by'],
    [() => a.transitions({ levels: ['page'] }), 'E_PARSE', 'levels[0]'],
    [() => a.paths({ k: -1 }), 'E_PARSE', 'k'],
    [() => a.grayAreas({ emotionWindow: 0 }), 'E_PARSE', 'emotionWindow'],
    [() => a.keyMoments({ outcome: { page: 'x' } }), 'E_PARSE', 'outcome'],
    [() => a.hypotheses({ emotionTolerance: 'wide' }), 'E_PARSE', 'emotionTolerance'],
    [() => a.report({ funnel: { steps: 3 } }), 'E_PARSE', 'funnel.steps'],
    [() => a.reportText({ grayAreas: { emotionWindow: 0 } }), 'E_PARSE', 'grayAreas.emotionWindow'],
    [() => Analysis.fromCsv(doc, '/no/such/events.csv'), 'E_IO', '/no/such/events.csv'],
    [() => Analysis.fromCsv(doc, join(repo, 'examples/maps/shop.json')), 'E_PARSE', 'line 1'],
    [() => Analysis.fromCsv(doc, join(repo, 'examples/data/events.csv'), null, { columns: {} }), 'E_PARSE', 'columns'],
    [() => Analysis.fromCsv(doc, join(repo, 'examples/data/events.csv'), null, { map: 42 }), 'E_PARSE', 'map'],
    [() => Analysis.fromEvents(doc, [], [{ a: 'session:a', b: 'nokind', ts: 1 }]), 'E_PARSE', 'links[0].b'],
    [() => Analysis.fromEvents(doc, [], [{ a: 'session:a', b: 'email:x', ts: 'now' }]), 'E_PARSE', 'links[0].ts'],
    [() => Analysis.fromEvents(doc, [], [{ a: 'session:a', b: 'email:x', ts: 1, c: 2 }]), 'E_PARSE', 'links[0].c'],
    [() => Analysis.fromArrow(doc, Buffer.from('not arrow at all')), 'E_PARSE', 'events'],
    [() => Analysis.fromParquet(doc, '/no/such/events.parquet'), 'E_IO', '/no/such/events.parquet'],
  ];
  for (const [call, code, where] of cases) {
    const err = await rejected(call());
    assert.equal(err.code, code, `${where}: ${err.message}`);
    assert.equal(err.path, where, `${code}: ${err.message}`);
  }
  const bad = await rejected(Analysis.fromEvents(doc, [ev(T0, 'session:a', 'view'), { ts: T0, keys: ['session:a'], event: 'view' }]));
  assert.equal(bad.code, 'E_BAD_EVENT');
  assert.equal(bad.index, 1);
  assert.match(bad.message, /channel/);
  const unknownMap = await rejected(Analysis.fromEvents(doc, [], null, { map: 'nope' }));
  assert.equal(unknownMap.code, 'E_NOT_FOUND');
  const unknownTouchpoint = await rejected(a.keyMoments({ outcome: { touchpoint: 'nope' } }));
  assert.equal(unknownTouchpoint.code, 'E_NOT_FOUND');
  const design = thrown(() => fromBenchDesign('{"format": "nope"}'));
  assert.equal(design.code, 'E_PARSE');
  assert.throws(() => new Analysis(), /constructor|Class contains no/);
});

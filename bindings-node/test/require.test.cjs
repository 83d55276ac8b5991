// The package works from CommonJS `require`, and ESM `import` gives the very same binding.
const assert = require('node:assert/strict');
const { test } = require('node:test');

const journey = require('journey-core');

test('require gives the binding', () => {
  const doc = journey.MapDocument.fromJson(
    JSON.stringify({
      name: 'CJS',
      personas: [{ id: 'p', name: 'P' }],
      maps: [{ id: 'm', name: 'M', persona: 'p', phases: [{ id: 'a', name: 'A' }], touchpoints: [{ id: 't', name: 'T', phase: 'a' }] }],
    }),
  );
  assert.equal(doc.name, 'CJS');
  assert.deepEqual(doc.mapIds, ['m']);
  assert.deepEqual(journey.presets(), ['funnel', 'relationship']);
  assert.throws(() => journey.normalizeEmotion(6, 'csat'), { code: 'E_EMOTION' });
});

test('import and require share one addon and the same exports', async () => {
  const esm = await import('journey-core');
  assert.equal(esm.MapDocument, journey.MapDocument);
  assert.equal(esm.Tracker, journey.Tracker);
  assert.equal(esm.backtest, journey.backtest);
  assert.equal(esm.default, journey);
  const named = Object.keys(esm).filter((k) => k !== 'default').sort();
  const exported = Object.keys(journey).filter((k) => !k.endsWith('ForTesting')).sort();
  assert.deepEqual(named, exported);
  for (const name of ['MapDocument', 'Tracker', 'Analysis', 'fromBenchDesign', 'backtest', 'ErrorCode', 'presets', 'presetPhases', 'normalizeEmotion', 'mapSchema', 'version']) {
    assert.ok(named.includes(name), name);
  }
});

test('the package.json exports map points at both entry points', () => {
  const pkg = require('journey-core/package.json');
  assert.equal(pkg.exports['.'].require.default, './index.js');
  assert.equal(pkg.exports['.'].import.default, './index.mjs');
  assert.equal(require.resolve('journey-core'), require.resolve('../index.js'));
});

test('require gives the tracker', async () => {
  const doc = journey.MapDocument.load(require.resolve('../../examples/maps/shop.json'));
  const tracker = new journey.Tracker(doc);
  const tracked = tracker.trackSync({ ts: 1, keys: ['session:cjs'], event: 'add_to_cart', channel: 'web' });
  assert.equal(tracked.touchpoint, 'cart');
  assert.equal((await tracker.context('session:cjs')).events, 1);
  await assert.rejects(tracker.track({ ts: 1, keys: [], event: 'x', channel: 'web' }), { code: 'E_BAD_EVENT', field: 'keys' });
  tracker.close();
  assert.throws(() => tracker.contextSync('session:cjs'), { code: 'E_CLOSED' });
});

// The module-level functions: presets, presetPhases, normalizeEmotion, mapSchema, version.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { mapSchema, normalizeEmotion, presetPhases, presets, version } from 'journey-core';

test('presets lists the preset names', () => {
  assert.deepEqual(presets(), ['funnel', 'relationship']);
});

test('presetPhases gives the ordered phases of each preset', () => {
  assert.deepEqual(
    presetPhases('funnel').map((p) => p.id),
    ['awareness', 'interest', 'consideration', 'action', 'usage', 'advocacy'],
  );
  assert.deepEqual(
    presetPhases('relationship').map((p) => p.id),
    ['connect', 'orient', 'interact', 'expand', 'refer'],
  );
  const [first] = presetPhases('funnel');
  assert.deepEqual(Object.keys(first).sort(), ['description', 'id', 'name']);
  assert.equal(first.name, 'Awareness');
  for (const name of presets()) {
    for (const phase of presetPhases(name)) assert.ok(phase.description.length > 0, phase.id);
  }
});

test('normalizeEmotion converts every scale to [-1, 1]', () => {
  assert.equal(normalizeEmotion(0.25), 0.25);
  assert.equal(normalizeEmotion(-1, 'score'), -1);
  assert.equal(normalizeEmotion('negative', 'label'), -1);
  assert.equal(normalizeEmotion('neutral', 'label'), 0);
  assert.equal(normalizeEmotion(1, 'label'), 1);
  assert.equal(normalizeEmotion(1, 'csat'), -1);
  assert.equal(normalizeEmotion(4, 'csat'), 0.5);
  assert.equal(normalizeEmotion(0, 'nps'), -1);
  assert.equal(normalizeEmotion(10, 'nps'), 1);
  assert.throws(() => normalizeEmotion(1.5), { code: 'E_EMOTION' });
});

test('mapSchema is the JSON schema of a map document', () => {
  const schema = JSON.parse(mapSchema());
  assert.equal(schema.title, 'journey-core map document');
  assert.ok(schema.properties.maps);
  assert.deepEqual([...schema.required].sort(), ['maps', 'name']);
});

test('version is the package version', () => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  assert.match(version(), /^\d+\.\d+\.\d+/);
  assert.equal(version(), pkg.version);
});

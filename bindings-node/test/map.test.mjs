// MapDocument: one test per method, plus round trip and save.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { MapDocument } from 'journey-core';

import { tempDir } from './helpers.mjs';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const shopFile = join(repo, 'examples/maps/shop.json');

const SMALL = JSON.stringify({
  name: 'Shop',
  personas: [{ id: 'buyer', name: 'Buyer' }],
  maps: [
    {
      id: 'buy',
      name: 'Buying',
      persona: 'buyer',
      phases: [{ id: 'consideration', name: 'Consideration' }],
      touchpoints: [
        { id: 'pdp', name: 'Product page', phase: 'consideration', channels: ['web'], events: ['product_view'], emotion: 'positive' },
      ],
    },
    {
      id: 'again',
      name: 'Buying again',
      persona: 'buyer',
      phases: [{ id: 'usage', name: 'Usage' }],
      touchpoints: [{ id: 'app', name: 'Opens the app', phase: 'usage', emotion: { csat: 4 } }],
    },
  ],
});

test('MapDocument.fromJson parses a document', () => {
  const doc = MapDocument.fromJson(SMALL);
  assert.ok(doc instanceof MapDocument);
  assert.equal(doc.name, 'Shop');
});

test('MapDocument.load reads a file', () => {
  const doc = MapDocument.load(shopFile);
  assert.equal(doc.name, JSON.parse(readFileSync(shopFile, 'utf8')).name);
});

test('MapDocument cannot be constructed with new', () => {
  assert.throws(() => new MapDocument());
});

test('name is the document name', () => {
  assert.equal(MapDocument.fromJson(SMALL).name, 'Shop');
});

test('mapIds lists the maps in document order', () => {
  assert.deepEqual(MapDocument.fromJson(SMALL).mapIds, ['buy', 'again']);
});

test('toJson writes version, two-space indent and a final newline', () => {
  const text = MapDocument.fromJson(SMALL).toJson();
  assert.ok(text.startsWith('{\n  "version": 1,\n  "name": "Shop",'));
  assert.ok(text.endsWith('}\n'));
  assert.equal(JSON.parse(text).maps[1].touchpoints[0].emotion.csat, 4);
});

test('toJson round trips: parse(toJson()) writes the same text', () => {
  for (const source of [SMALL, readFileSync(shopFile, 'utf8')]) {
    const once = MapDocument.fromJson(source).toJson();
    assert.equal(MapDocument.fromJson(once).toJson(), once);
  }
});

test('save writes a file that load reads back, leaving no temporary file', () => {
  const dir = tempDir('journey-core-node-');
  const file = join(dir, 'saved.json');
  const doc = MapDocument.load(shopFile);
  assert.equal(doc.save(file), undefined);
  assert.equal(readFileSync(file, 'utf8'), doc.toJson());
  assert.equal(MapDocument.load(file).toJson(), doc.toJson());
  assert.deepEqual(readdirSync(dir), ['saved.json']);
});

test('validate returns nothing for a valid document', () => {
  assert.equal(MapDocument.fromJson(SMALL).validate(), undefined);
  assert.equal(MapDocument.load(shopFile).validate(), undefined);
});

test('problems is empty for a valid document and lists problems otherwise', () => {
  assert.deepEqual(MapDocument.fromJson(SMALL).problems(), []);
  const bad = JSON.parse(SMALL);
  bad.maps[0].touchpoints[0].phase = 'nowhere';
  const problems = MapDocument.fromJson(JSON.stringify(bad)).problems();
  assert.deepEqual(
    problems.map((p) => [p.kind, p.path]),
    [
      ['empty_phase', 'maps[0].phases[0]'],
      ['unknown_phase', 'maps[0].touchpoints[0].phase'],
    ],
  );
  for (const p of problems) assert.equal(typeof p.message, 'string');
  assert.deepEqual(Object.keys(problems[0]).sort(), ['kind', 'message', 'path']);
});

test('toMermaid draws the first map by default, or the one named', () => {
  const doc = MapDocument.fromJson(SMALL);
  const first = doc.toMermaid();
  assert.ok(first.startsWith('journey\n    title Buying\n'));
  assert.equal(doc.toMermaid('buy'), first);
  assert.equal(doc.toMermaid(null), first);
  assert.ok(doc.toMermaid('again').includes('title Buying again'));
  assert.ok(doc.toMermaid('again').includes('section Usage'));
});

test('toSvg draws the first map by default, or the one named', () => {
  const doc = MapDocument.fromJson(SMALL);
  const first = doc.toSvg();
  assert.match(first, /^<svg[\s>]/);
  assert.ok(first.includes('xmlns="http://www.w3.org/2000/svg"'));
  assert.equal(doc.toSvg('buy'), first);
  assert.notEqual(doc.toSvg('again'), first);
  assert.ok(doc.toSvg('again').includes('Buying again'));
});

test('a document is reusable after an error', () => {
  const doc = MapDocument.fromJson(SMALL);
  assert.throws(() => doc.toSvg('missing'), { code: 'E_NOT_FOUND' });
  assert.equal(doc.mapIds.length, 2);
  assert.ok(!existsSync(join(tmpdir(), 'missing.svg')));
});

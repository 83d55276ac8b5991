// The cross-language scenarios of tests/scenarios/, also run by Rust and Python.
//
// Every directory holds map.json and either error.json (loading must fail with that kind
// and path) or problems.json, saved.json and <map_id>.mmd / <map_id>.svg files that must
// match problems(), toJson(), toMermaid(id) and toSvg(id) exactly. emotion.json holds
// normalizeEmotion cases.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { MapDocument, normalizeEmotion } from 'journey-core';

const root = fileURLToPath(new URL('../../tests/scenarios/', import.meta.url));
const read = (...parts) => readFileSync(join(root, ...parts), 'utf8');
const codeOf = (kind) => `E_${kind.toUpperCase()}`;

const scenarios = existsSync(root)
  ? readdirSync(root, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort()
  : [];

test('there are scenarios to run', () => {
  assert.ok(scenarios.length > 0, `no scenario directories in ${root}`);
});

for (const name of scenarios) {
  test(`scenario ${name}`, () => {
    const file = join(root, name, 'map.json');
    assert.ok(existsSync(file), `${name}/map.json is missing`);
    if (existsSync(join(root, name, 'error.json'))) {
      const expected = JSON.parse(read(name, 'error.json'));
      assert.throws(
        () => MapDocument.load(file),
        (err) => {
          assert.ok(err instanceof Error);
          assert.equal(err.code, codeOf(expected.kind));
          if ('path' in expected) assert.equal(err.path, expected.path);
          if (expected.kind === 'parse') assert.equal(err.file, file);
          return true;
        },
      );
      return;
    }
    const doc = MapDocument.load(file);
    assert.deepEqual(doc.problems(), JSON.parse(read(name, 'problems.json')), `${name}/problems.json`);
    assert.equal(doc.toJson(), read(name, 'saved.json'), `${name}/saved.json`);
    const drawings = readdirSync(join(root, name)).filter((f) => f.endsWith('.mmd') || f.endsWith('.svg'));
    for (const drawing of drawings) {
      const id = drawing.replace(/\.(mmd|svg)$/, '');
      assert.ok(doc.mapIds.includes(id), `${name}/${drawing} names no map of the document`);
      const actual = drawing.endsWith('.mmd') ? doc.toMermaid(id) : doc.toSvg(id);
      assert.equal(actual, read(name, drawing), `${name}/${drawing}`);
    }
  });
}

test('scenario emotion.json', () => {
  const cases = JSON.parse(read('emotion.json'));
  assert.ok(cases.length > 0, 'emotion.json has no cases');
  for (const c of cases) {
    const label = JSON.stringify(c);
    if ('error' in c) {
      assert.throws(() => normalizeEmotion(c.value, c.scale), { code: codeOf(c.error) }, label);
    } else {
      assert.equal(normalizeEmotion(c.value, c.scale), c.expected, label);
    }
  }
});

// The generated `index.d.ts` declares every method and accessor the addon's classes have
// at run time, so TypeScript users can call all of them (napi's type generation can drop
// an `impl` block silently; see src/tracker/privacy.rs).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import * as journey from 'journey-core';

const dts = readFileSync(new URL('../index.d.ts', import.meta.url), 'utf8');

/** The member names declared in `export declare class <name> { ... }`. */
function declared(name) {
  const start = dts.indexOf(`export declare class ${name} {`);
  assert.notEqual(start, -1, `index.d.ts declares class ${name}`);
  const body = dts.slice(start, dts.indexOf('\n}\n', start));
  const members = new Set();
  for (const m of body.matchAll(/^ {2}(?:static )?(?:get |set )?([A-Za-z_$][\w$]*)\s*[(<:?]/gm)) members.add(m[1]);
  return members;
}

/** The own member names of a class at run time: prototype methods and accessors, statics. */
function runtime(cls) {
  const names = [...Object.getOwnPropertyNames(cls.prototype), ...Object.getOwnPropertyNames(cls)];
  const builtin = new Set(['constructor', 'length', 'name', 'prototype', 'arguments', 'caller']);
  return names.filter((n) => !builtin.has(n) && !n.endsWith('ForTesting'));
}

for (const name of ['Tracker', 'Analysis', 'MapDocument', 'Partials']) {
  test(`index.d.ts declares every member of ${name}`, () => {
    const cls = journey[name];
    assert.equal(typeof cls, 'function', `${name} is exported`);
    const types = declared(name);
    const missing = runtime(cls).filter((n) => !types.has(n));
    assert.deepEqual(missing, [], `${name} members missing from index.d.ts`);
  });
}

test('the check sees the Tracker methods napi once dropped', () => {
  const types = declared('Tracker');
  for (const name of ['forget', 'deleteBefore', 'exportJsonl', 'importJsonl', 'track', 'context']) assert.ok(types.has(name), name);
});

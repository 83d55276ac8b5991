// The Node examples stay working: each is run as a user would run it.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import ts from 'typescript';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const examples = join(repo, 'examples/node');
const modules = join(examples, 'node_modules');

/** Links examples/node/node_modules/journey-core to this package, as `npm install` there would. */
function linkPackage() {
  const link = join(modules, 'journey-core');
  if (existsSync(link) || (() => { try { return lstatSync(link).isSymbolicLink(); } catch { return false; } })()) return;
  mkdirSync(modules, { recursive: true });
  symlinkSync(relative(modules, join(repo, 'bindings-node')), link, 'dir');
}

test('quickstart.mjs loads, validates and draws every example map', () => {
  linkPackage();
  const out = mkdtempSync(join(tmpdir(), 'journey-core-quickstart-test-'));
  const stdout = execFileSync(process.execPath, [join(examples, 'quickstart.mjs'), out], { encoding: 'utf8' });
  const maps = readdirSync(join(repo, 'examples/maps')).filter((f) => f.endsWith('.json'));
  assert.ok(maps.length > 0);
  for (const f of maps) assert.match(stdout, new RegExp(`\\(${f.replace('.', '\\.')}\\): valid`));
  const drawn = readdirSync(out).sort();
  assert.ok(drawn.some((f) => f.endsWith('.svg')) && drawn.some((f) => f.endsWith('.mmd')), drawn.join());
  for (const f of drawn) {
    const text = readFileSync(join(out, f), 'utf8');
    if (f.endsWith('.svg')) assert.match(text, /^<svg[\s>]/, f);
    else assert.match(text, /^journey\n/, f);
  }
});

test('validate.ts reports valid and invalid documents', () => {
  linkPackage();
  // Node 20 cannot run TypeScript: strip the types (tsc --noEmit checks them) into a
  // folder from which `journey-core` resolves like it does for the example itself.
  const source = readFileSync(join(examples, 'validate.ts'), 'utf8');
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  });
  const build = join(modules, '.journey-core-examples');
  mkdirSync(build, { recursive: true });
  const script = join(build, 'validate.mjs');
  writeFileSync(script, outputText);

  const good = spawnSync(process.execPath, [script, join(repo, 'examples/maps/shop.json')], { encoding: 'utf8' });
  assert.equal(good.status, 0, good.stderr);
  assert.match(good.stdout, /shop\.json: ".*" is valid/);

  const invalid = join(repo, 'tests/scenarios/invalid/map.json');
  const bad = spawnSync(process.execPath, [script, invalid], { encoding: 'utf8' });
  assert.equal(bad.status, 1, bad.stderr);
  assert.match(bad.stdout, /problem\(s\)/);
  assert.match(bad.stdout, /duplicate_id at personas\[1\]\.id/);

  const missing = spawnSync(process.execPath, [script, join(tmpdir(), 'journey-core-missing.json')], { encoding: 'utf8' });
  assert.equal(missing.status, 2, missing.stderr);
  assert.match(missing.stdout, /cannot load: E_IO/);
});

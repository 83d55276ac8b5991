// The Node examples stay working: each is run as a user would run it.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import ts from 'typescript';

import { tempDir } from './helpers.mjs';

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
  const out = tempDir('journey-core-quickstart-test-');
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

/**
 * Node 20 cannot run TypeScript: strips the types of an example (tsc --noEmit checks them)
 * into a folder from which `journey-core` resolves like it does for the example itself.
 * Returns the script's path.
 */
function transpiled(name) {
  linkPackage();
  const source = readFileSync(join(examples, name), 'utf8');
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  });
  const build = join(modules, '.journey-core-examples');
  mkdirSync(build, { recursive: true });
  const script = join(build, name.replace(/\.ts$/, '.mjs'));
  writeFileSync(script, outputText);
  return script;
}

test('validate.ts reports valid and invalid documents', () => {
  const script = transpiled('validate.ts');

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

test('tracking.ts tracks a journey: callback offer, stitching, context, outbox, backtest', () => {
  const script = transpiled('tracking.ts');
  const run = spawnSync(process.execPath, [script, join(repo, 'examples/maps/shop.json')], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const out = run.stdout;
  assert.match(out, /remove_from_cart: profile (\d+), cart \(consideration\)\n  action: anonymous_cart_callback reached -> callback_offer \{"script":"cart_help"\}\n/);
  assert.match(out, /callback_requested: profile \d+, off the map\n/);
  assert.match(out, /account_login: profile \d+, account \(service\)\n  action: cart_abandoned missed -> coupon \{"code":"CART5","percent":5\}\n/);
  assert.match(out, /context: authenticated, keys session:7f3a, phone:\+34600000001, customer:0012345\n/);
  assert.match(out, /phases consideration > service, now in service\n/);
  assert.match(out, /interests [^\n]*cart x2/);
  assert.match(out, /emotion: lowest -0\.5, last -0\.5\n/);
  assert.match(out, /outbox: acknowledged 2 action\(s\), 0 left\n/);
  assert.match(out, /listener: 2 action\(s\)\n/);
  assert.match(out, /backtest: 2 action\(s\), anonymous_cart_callback, cart_abandoned\n/);
  const profiles = [...out.matchAll(/: profile (\d+)/g)].map((m) => m[1]);
  assert.equal(new Set(profiles).size, 1, 'every event landed on one stitched profile');
});

test('analytics.ts analyses the example events: reach, funnel, gray areas, hypotheses, Arrow files', async () => {
  const script = transpiled('analytics.ts');
  const out = tempDir('journey-core-analytics-example-');
  const run = spawnSync(process.execPath, [script, join(repo, 'examples/maps/shop.json'), join(repo, 'examples/data'), out], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /^20000 events, \d+ keys, 2934 journeys\n/);
  assert.match(run.stdout, /\n  awareness +1294 +44\.1%\n/);
  assert.match(run.stdout, /funnel: product_view \d+ > add_to_cart \d+ > checkout_start \d+ > payment \d+ > order_confirmed \d+ \(\d+ converted\)\n/);
  assert.match(run.stdout, /\n  via web: \d+ of \d+ converted\n/);
  assert.match(run.stdout, /hypotheses: \d+ confirmed, \d+ contradicted, \d+ not enough data\n/);
  const { tableFromIPC } = await import('apache-arrow');
  const steps = tableFromIPC(readFileSync(join(out, 'funnel_steps.arrow')));
  assert.equal(steps.numRows, 5);
  assert.equal(tableFromIPC(readFileSync(join(out, 'journeys.arrow'))).numRows, 2934);
  const usage = spawnSync(process.execPath, [script], { encoding: 'utf8' });
  assert.equal(usage.status, 2);
});

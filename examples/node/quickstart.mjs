// journey-core quickstart (Node): load the example maps, validate them, print a summary
// and draw each map as Mermaid and SVG.
//
// Run: node examples/node/quickstart.mjs [output-dir]
// (files land in a new temporary folder unless a folder is given).
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { MapDocument, version } from 'journey-core';

const mapsDir = fileURLToPath(new URL('../maps/', import.meta.url));
const out = process.argv[2] ?? mkdtempSync(join(tmpdir(), 'journey-core-quickstart-'));
mkdirSync(out, { recursive: true });

const files = readdirSync(mapsDir).filter((f) => f.endsWith('.json')).sort();
if (files.length === 0) throw new Error(`no map documents in ${mapsDir}`);

console.log(`journey-core ${version()}`);
for (const file of files) {
  const doc = MapDocument.load(join(mapsDir, file));
  doc.validate(); // throws an Error with code E_VALIDATION and every problem in `problems`
  const data = JSON.parse(doc.toJson());
  console.log(`${doc.name} (${file}): valid, ${data.personas.length} persona(s)`);
  for (const map of data.maps) {
    const persona = data.personas.find((p) => p.id === map.persona)?.name ?? '?';
    const keyMoments = map.touchpoints.filter((t) => t.key_moment).map((t) => t.name);
    console.log(`  map "${map.id}" for ${persona}: ${map.phases.length} phases, ${map.touchpoints.length} touchpoints`);
    console.log(`    phases: ${map.phases.map((p) => p.name).join(' > ')}`);
    console.log(`    key moments: ${keyMoments.join(', ') || '(none)'}`);
    const mmd = join(out, `${map.id}.mmd`);
    const svg = join(out, `${map.id}.svg`);
    writeFileSync(mmd, doc.toMermaid(map.id));
    writeFileSync(svg, doc.toSvg(map.id));
    console.log(`    drawn: ${mmd} and ${svg}`);
  }
}

// Journey analytics from Node: the example events (examples/data/events.csv, 20,000 events
// of an online shop) checked against the shop map. Prints phase reach, the purchase funnel
// by channel, the worst gray areas, the hypothesis report's verdicts, and writes the
// funnel's tables as Arrow IPC files (readable by apache-arrow, pyarrow, polars, DuckDB).
//
// Run (after compiling, or through the tests): analytics <shop.json> <data-dir> [out-dir]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { Analysis, MapDocument, type FunnelOptions } from 'journey-core';

const [map, data, out] = process.argv.slice(2);
if (map === undefined || data === undefined) {
  console.error('usage: analytics <shop.json> <data-dir> [out-dir]');
  process.exit(2);
}
const doc = MapDocument.load(map);

// Built once on the thread pool: events stitched into journeys (links join keys).
const analysis = await Analysis.fromCsv(doc, join(data, 'events.csv'), join(data, 'links.csv'));
const stitch = await analysis.stitchSummary();
console.log(`${analysis.events} events, ${stitch.keys} keys, ${stitch.journeys} journeys`);

const reach = await analysis.reach();
for (const p of reach.phases) console.log(`  ${p.phase.padEnd(14)} ${String(p.journeys).padStart(5)}  ${((p.share ?? 0) * 100).toFixed(1)}%`);

const purchase: FunnelOptions = { steps: ['product_view', 'add_to_cart', 'checkout_start', 'payment', 'order_confirmed'], windowUs: 7 * 24 * 3600 * 1e6 };
const funnel = await analysis.funnel(purchase);
console.log(`funnel: ${funnel.steps.map((s) => `${s.step} ${s.journeys}`).join(' > ')} (${funnel.converted} converted)`);
const byChannel = await analysis.funnelBreakdown({ funnel: purchase, by: 'channel' });
for (const g of byChannel.groups) console.log(`  via ${g.value ?? '(none)'}: ${g.converted} of ${g.journeys} converted`);

const gray = await analysis.grayAreas();
const worst = [...gray.department.changes].sort((a, b) => (b.drop_rate ?? 0) - (a.drop_rate ?? 0)).slice(0, 3);
for (const c of worst) console.log(`gray area: ${c.from} -> ${c.to}, ${c.occurrences} times, drop rate ${c.drop_rate?.toFixed(2)}`);

const hypotheses = await analysis.hypotheses({ keyMomentOutcome: { touchpoint: 'order_confirmation' } });
console.log(`hypotheses: ${hypotheses.confirmed} confirmed, ${hypotheses.contradicted} contradicted, ${hypotheses.not_enough_data} not enough data`);
for (const a of hypotheses.assumptions.filter((x) => x.verdict === 'contradicted').slice(0, 3)) console.log(`  contradicted: ${a.kind} ${a.subject}: ${a.note}`);

// Every result also comes as Arrow tables.
if (out !== undefined) {
  mkdirSync(out, { recursive: true });
  for (const table of await analysis.tables('funnel', purchase)) writeFileSync(join(out, `${table.name}.arrow`), table.ipc);
  const journeys = await analysis.journeyTable();
  writeFileSync(join(out, `${journeys.name}.arrow`), journeys.ipc);
  console.log(`wrote the funnel and journey tables to ${out}`);
}

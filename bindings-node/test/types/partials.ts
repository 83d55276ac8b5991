// Type-checked by `tsc --noEmit -p bindings-node` (never run): partial states as a user's
// TypeScript sees them: options in the core's snake_case form, bytes, merge, results.
import { Analysis, Partials, type FunnelResult, type PartialOptions, type PartialResults } from 'journey-core';

const measures: PartialOptions = {
  reach: true,
  funnels: [{ steps: [['product_view'], ['add_to_cart', 'wishlist_add'], ['order_confirmed']], window_us: null, now_us: 1_736_121_600_000_000 }],
  funnel_breakdowns: [{ funnel: { steps: [['product_view'], ['order_confirmed']] }, by: { property: 'campaign' } }],
  transitions: ['event', 'phase'],
  paths: { k: 4, top: 10 },
  gray_areas: { emotion_window: 2 },
  key_moments: { outcome: { touchpoint: 'order_confirmation' }, min_count: 20 },
  hypotheses: { emotion_tolerance: 0.5 },
  quantiles: { sketch: { relative_accuracy: 0.01 } },
};

/** One state per part, shipped as bytes, merged, finished. */
export async function mergeParts(parts: Analysis[]): Promise<PartialResults | null> {
  const bytes: Buffer[] = await Promise.all(parts.map(async (a) => (await a.partials(measures)).toBytes()));
  if (bytes.length === 0) return null;
  const merged: Partials = Partials.fromBytes(bytes[0]);
  for (const b of bytes.slice(1)) merged.merge(Partials.fromBytes(new Uint8Array(b)));
  const results = await merged.finish();
  const funnel: FunnelResult | undefined = results.funnels[0];
  const accuracy: number | null = results.relative_accuracy;
  const reached: number = results.reach?.journeys ?? 0;
  console.log(funnel?.time_to_convert.median_us, accuracy, reached, merged.journeys, merged.events);
  return results;
}

export async function onePass(a: Analysis): Promise<PartialResults> {
  return a.results({ conformance: true, stitch: true });
}

// Type-checked by `tsc --noEmit -p bindings-node` (never run): the PostgreSQL options of
// a tracker and `Tracker.open` as a user's TypeScript sees them.
import { MapDocument, Tracker, type TrackerOptions } from 'journey-core';

export async function openShop(doc: MapDocument, url: string): Promise<number> {
  const options: TrackerOptions = { postgres: url, schema: 'shop', poolSize: 8, hashSecret: 'a secret of sixteen+ bytes', hashKinds: ['email'] };
  const tracker: Tracker = await Tracker.open(doc, options);
  const sqlite: Tracker = await Tracker.open(doc, { path: 'journeys.sqlite' });
  const memory: Tracker = await Tracker.open(doc);
  const profiles = await tracker.count();
  await Promise.all([tracker.close(), sqlite.close(), memory.close()]);
  return profiles;
}

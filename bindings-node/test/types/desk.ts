// Type-checked by `tsc --noEmit -p bindings-node` (never run): routing, privacy and the
// analysis' personas as a user's TypeScript sees them (these methods were once missing
// from the generated types).
import { Analysis, Tracker, type ExportStats, type Forgotten, type Route } from 'journey-core';

export async function desk(tracker: Tracker, analysis: Analysis): Promise<string | null> {
  const route: Route | null = await tracker.route('phone:+34600000001');
  const now: Route | null = tracker.routeSync('phone:+34600000001');
  const forgotten: Forgotten | null = await tracker.forget('email:ana@example.com');
  const deleted: number = await tracker.deleteBefore(new Date('2025-01-01T00:00:00Z'));
  const saved: ExportStats = await tracker.exportJsonl('backup.jsonl');
  const loaded: ExportStats = await tracker.importJsonl('backup.jsonl');
  analysis.assignPersonas({ 'customer:42': 'frequent_buyer' });
  analysis.setAttributes({ 'customer:42': { tier: 'gold' } });
  const mapId: string = analysis.mapId;
  const kept: string[] = analysis.properties;
  void [forgotten, deleted, saved, loaded, now, kept];
  return route ? `${mapId}: ${route.queue} (${route.department ?? 'any'}) priority ${route.priority}` : null;
}

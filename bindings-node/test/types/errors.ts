// Type-checked by `tsc --noEmit -p bindings-node` (never run): narrowing a caught error
// on its `code` gives the fields of that kind of error.
import { ErrorCode, type JourneyError, Tracker } from 'journey-core';

export async function explain(tracker: Tracker, event: Parameters<Tracker['track']>[0]): Promise<string> {
  try {
    await tracker.track(event);
    return 'tracked';
  } catch (e) {
    const err = e as JourneyError;
    switch (err.code) {
      case 'E_BAD_EVENT':
        return `event ${err.index ?? '-'}: ${err.field}`;
      case 'E_LIMIT':
        return `${err.limit}: ${err.value} > ${err.max}`;
      case 'E_PARSE':
        return `${err.path} in ${err.file ?? 'the options'}`;
      case 'E_VALIDATION':
        return err.problems.map((p) => p.path).join(', ');
      case 'E_CLOSED':
        return `closed: ${err.what}`;
      default:
        return err.code === ErrorCode.Storage ? `store: ${err.message}` : err.message;
    }
  }
}

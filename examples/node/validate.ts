// Validates map documents and lists every problem with its path (TypeScript).
//
// Run (after compiling, or through the tests): validate <map.json>...
// Exits 0 when every document is valid, 1 when one has problems, 2 when one cannot be read.
import { ErrorCode, MapDocument, type Problem } from 'journey-core';

/** The outcome of checking one file. */
interface Report {
  file: string;
  name?: string;
  problems: Problem[];
  error?: string;
}

/** Loads and validates one file; never throws for journey-core errors. */
function check(file: string): Report {
  let doc: MapDocument;
  try {
    doc = MapDocument.load(file);
  } catch (err) {
    const e = err as Error & { code?: string; path?: string };
    if (e.code === ErrorCode.Parse || e.code === ErrorCode.Io) {
      return { file, problems: [], error: `${e.code} at ${e.path ?? '?'}: ${e.message}` };
    }
    throw err;
  }
  try {
    doc.validate();
    return { file, name: doc.name, problems: [] };
  } catch (err) {
    const e = err as Error & { code?: string; problems?: Problem[] };
    if (e.code !== ErrorCode.Validation || e.problems === undefined) throw err;
    return { file, name: doc.name, problems: e.problems };
  }
}

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: validate <map.json>...');
  process.exit(2);
}
let status = 0;
for (const report of files.map(check)) {
  if (report.error !== undefined) {
    console.log(`${report.file}: cannot load: ${report.error}`);
    status = 2;
  } else if (report.problems.length === 0) {
    console.log(`${report.file}: "${report.name}" is valid`);
  } else {
    console.log(`${report.file}: "${report.name}" has ${report.problems.length} problem(s)`);
    for (const p of report.problems) console.log(`  ${p.kind} at ${p.path}: ${p.message}`);
    status = Math.max(status, 1);
  }
}
process.exit(status);

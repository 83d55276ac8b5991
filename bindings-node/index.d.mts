// Types of the ESM entry point: the same declarations as the generated index.d.ts.
export * from './index.js';
import * as binding from './index.js';
export default binding;

/** Asserts that `fn` throws the evaluation registry's coded error, naming `field` when given. */
import type { Test } from 'tap';
import { type ErrorSpec, hasCode } from '../../../platform/src/errors.js';

export function throwsCoded(t: Test, fn: () => unknown, spec: ErrorSpec, field?: string): void {
  try {
    fn();
  } catch (err) {
    t.ok(hasCode(err, spec), `throws ${spec.code}, got ${String(err)}`);
    if (field !== undefined && hasCode(err, spec)) t.equal(err.field, field, `names the field ${field}`);
    return;
  }
  t.fail(`expected ${spec.code} to be thrown`);
}

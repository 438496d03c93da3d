import t from 'tap';
import { thresholdVerdict } from '../../../../sidecar/src/decision/policies/threshold-verdict.js';
import { DEFAULT_THRESHOLDS, threshold } from '../../../../sidecar/src/decision/policies/thresholds.js';

const T = DEFAULT_THRESHOLDS;
const fresh = { health: 'fresh' as const, margins: 0 };
const stale = { health: 'stale' as const, margins: 1 };
const unknown = { health: 'unknown' as const, margins: 2 };

t.test('a p at or above the threshold promises; below it, the reason says what kept it out', async (t) => {
  const cold = threshold(T, 'checkout', false, 0);
  t.equal(thresholdVerdict(cold, cold, fresh, false, 'checkout', T), 'ATP_OK');
  t.equal(thresholdVerdict(cold - 0.01, cold, fresh, false, 'checkout', T), 'BELOW_THRESHOLD');
  const withMargin = threshold(T, 'checkout', false, 1);
  t.equal(
    thresholdVerdict(cold + 0.001, withMargin, stale, false, 'checkout', T),
    'NODE_STALE',
    'only the margin kept it out',
  );
  const hot = threshold(T, 'checkout', true, 0);
  t.equal(
    thresholdVerdict(cold + 0.001, hot, fresh, true, 'checkout', T),
    'HOT_SKU_STRICT',
    'only hotness kept it out',
  );
});

t.test('an unknown node is never promised for a hot SKU, whatever its p', async (t) => {
  t.equal(thresholdVerdict(0.9999, 0.5, unknown, true, 'checkout', T), 'NODE_UNKNOWN_STOCK');
  t.equal(
    thresholdVerdict(0.9999, threshold(T, 'checkout', false, 2), unknown, false, 'checkout', T),
    'ATP_OK',
  );
});

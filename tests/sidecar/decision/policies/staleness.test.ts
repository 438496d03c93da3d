import t from 'tap';
import { newRecord, R } from '../../../../features/src/record-layout.js';
import {
  lagBufferUnits,
  STALE_CACHE_MARGINS,
  STALE_NODE_MARGINS,
  thresholdMargins,
  UNKNOWN_NODE_MARGINS,
} from '../../../../sidecar/src/decision/policies/staleness.js';

t.test('margins: a stale node one, an unknown node two, a stale cached copy one more', async (t) => {
  t.equal(thresholdMargins('fresh', false), 0);
  t.equal(thresholdMargins('stale', false), STALE_NODE_MARGINS);
  t.equal(thresholdMargins('unknown', false), UNKNOWN_NODE_MARGINS);
  t.equal(thresholdMargins('fresh', true), STALE_CACHE_MARGINS);
  t.equal(thresholdMargins('unknown', true), UNKNOWN_NODE_MARGINS + STALE_CACHE_MARGINS);
});

t.test('the lag buffer is the sales velocity over the lag, rounded up', async (t) => {
  const rec = newRecord();
  const now = 1_000_000;
  rec[R.velocityPerH] = 10;
  rec[R.velocityAtMs] = now;
  t.equal(lagBufferUnits(rec, 0, now, 3_600_000), 10, 'an hour of lag at 10 units/h');
  t.equal(lagBufferUnits(rec, 0, now, 60_000), 1, 'a minute: a sixth of a unit, rounded up');
  rec[R.velocityPerH] = 0;
  t.equal(lagBufferUnits(rec, 0, now, 60_000), 0, 'no sales, no buffer');
});

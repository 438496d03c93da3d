import t from 'tap';
import { LagTracker } from '../../../ingest/src/lag-tracker.js';
import {
  decodeLagReport,
  effectiveLagMs,
  encodeLagReport,
  LAG_REPORT_STALE_MS,
  type LagReport,
} from '../../../proto/v1/stream-lag.js';

t.test(
  'lag is high watermark minus the applied position, aged from the last applied record, zero when caught up',
  async (t) => {
    let now = 1_000_000;
    const lag = new LagTracker('ing-1', () => now);
    lag.assign([0, 1]);
    // Partition 0: 100 records, 60 applied, the last applied written 2 s ago.
    lag.onBatch(0, '100');
    lag.onApplied(0, '60', now - 2_000, 1_500);
    // Partition 1: caught up.
    lag.onBatch(1, '5');
    lag.onApplied(1, '5', now - 9_000, 300);
    now += 1_000;
    const [p0, p1] = lag.reports();
    t.match(p0, { partition: 0, offsetLag: 40, lagMs: 3_000, eventAgeMs: 1_500, owner: 'ing-1' });
    t.match(p1, { partition: 1, offsetLag: 0, lagMs: 0 });
    // The brokers say more arrived on partition 1 while nothing was fetched: lag grows without a batch.
    lag.onOffsets(new Map([[1, '25']]), new Map([[1, '5']]));
    t.equal(lag.reports()[1]!.offsetLag, 20);
    t.equal(lag.partitionCount, 1);
    // Offsets only move forward; lag counts from what is applied, the commit may trail it.
    lag.onCommitted(0, '50');
    lag.onOffsets(new Map(), new Map([[0, '10']]));
    t.equal(lag.reports()[0]!.committedOffset, '50');
    t.equal(lag.reports()[0]!.offsetLag, 40);
    // A partition taken away is no longer reported.
    lag.assign([1]);
    t.same(
      lag.reports().map((r) => r.partition),
      [1],
    );
  },
);

t.test('a stale report adds its age to the lag, and no report means unknown', async (t) => {
  const report: LagReport = {
    partition: 3,
    offsetLag: 10,
    lagMs: 400,
    eventAgeMs: 200,
    committedOffset: '90',
    highWatermark: '100',
    updatedAtMs: 10_000,
    owner: 'x',
  };
  t.equal(effectiveLagMs(report, 10_000 + LAG_REPORT_STALE_MS, 99), 400, 'fresh: as reported');
  t.equal(
    effectiveLagMs(report, 10_000 + 60_000, 99),
    60_400,
    'an ingester silent for a minute: a minute more',
  );
  t.equal(effectiveLagMs(undefined, 10_000, 99), 99);
  t.same(decodeLagReport(encodeLagReport(report)), report);
  t.equal(decodeLagReport('{"partition":"3"}'), null, 'garbage from the store is ignored');
  t.equal(decodeLagReport('not json'), null);
});

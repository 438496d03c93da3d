/**
 * The short version of `npm run bench:join` (bench/evaluation-join.bench.ts):
 * one interleaved run of the raw consumer and the join over the same topics
 * of a small world on the mock cluster. It checks that the measurement
 * measures what it says (both readers consumed every record, the join's
 * figures equal the batch recomputation, the throughputs and the ratio are
 * consistent) and prints the numbers; the >= 0.5 goal is the bench's to
 * judge on a quiet box, not a bound this loaded machine could keep.
 */
import t from 'tap';
import { joinBenchRun, produceJoinWorld } from '../../../bench/lib/evaluation-join-kit.js';
import type { AggregateCounts } from '../../../evaluation/src/join/join-counts.js';
import { DEFAULT_HORIZON_MS } from '../../../evaluation/src/join/outcome-join.js';
import { buildReport } from '../../../evaluation/src/report/evaluation-report.js';
import { silentLogger } from '../../../platform/src/logger.js';
import { startKafkaMockCluster } from '../../helpers/kafka-mock-cluster.js';
import { recompute, segmentsByKey } from './join-stream.js';

const logger = silentLogger();
const cluster = await startKafkaMockCluster(1);
t.teardown(() => cluster.stop());

t.test('one bench run: both readers consume everything; the join keeps its figures', async (t) => {
  const w = await produceJoinWorld(cluster.brokers, 'bench-test', 600, 3, logger);
  let figures: ReturnType<typeof buildReport> | null = null;
  const r = await joinBenchRun(cluster.brokers, w, 0, logger, (service) => {
    figures = buildReport(service.store);
  });
  t.comment(
    `raw ${Math.round(r.rawRecordsPerS)} rec/s, join ${Math.round(r.joinRecordsPerS)} rec/s (x${r.ratio.toFixed(2)}), ${Math.round(r.joinDecisionsPerS)} decisions/s`,
  );
  t.ok(r.rawS > 0 && r.joinS > 0);
  t.ok(Math.abs(r.ratio - r.rawS / r.joinS) < 1e-9, 'ratio = raw time / join time over the same records');
  t.ok(Math.abs(r.joinDecisionsPerS - w.decisions / r.joinS) < 1e-9);
  const rep = figures as ReturnType<typeof buildReport> | null;
  t.equal(rep?.counters.records_applied, w.records, 'the join applied every record once');
  // Windows still open are pending, so compare what was requested and promised (counted on arrival).
  const decided = (m: Map<string, AggregateCounts>) =>
    Object.fromEntries(
      [...m].sort(([a], [b]) => a.localeCompare(b)).map(([k, c]) => [k, [c.requested, c.promised]]),
    );
  t.same(
    decided(segmentsByKey(rep?.segments ?? [])),
    decided(recompute(w.world, DEFAULT_HORIZON_MS)),
    'decided and promised items per segment equal the recomputation',
  );
});

import t from 'tap';
import { DecisionLog } from '../../../sidecar/src/decision-log/decision-log.js';
import {
  DECISION_LOG_SCHEMA,
  type DecisionLogRecord,
} from '../../../sidecar/src/decision-log/decision-log-record.js';
import { MemorySink } from '../../../sidecar/src/decision-log/decision-log-sinks.js';

function rec(i: number): DecisionLogRecord {
  return {
    schema: DECISION_LOG_SCHEMA,
    ts: i,
    decisionId: `d-${i}`,
    requestId: `r-${i}`,
    region: 'eu-west',
    zone: 'Z1-1',
    channel: 'checkout',
    mode: 'enforce',
    enforced: 'baseline',
    decision: 'allow',
    modelDecision: null,
    baselineDecision: 'allow',
    modelVersion: 'rules-only',
    rulesVersion: 'rules-v0',
    degradations: [],
    latencyUs: 10,
    items: [],
  };
}

t.test('records reach the sink as NDJSON in order', async (t) => {
  const sink = new MemorySink();
  const log = new DecisionLog(sink, 100);
  for (let i = 0; i < 10; i++) log.push(rec(i));
  await log.flush();
  t.same(
    sink.records().map((r) => r.decision_id),
    Array.from({ length: 10 }, (_, i) => `d-${i}`),
  );
  t.equal(log.stats.written, 10);
});

t.test('a full buffer drops new records and counts them instead of waiting', async (t) => {
  const sink = new MemorySink();
  const log = new DecisionLog(sink, 5);
  let drops = 0;
  log.onDrop = () => drops++;
  for (let i = 0; i < 8; i++) log.push(rec(i));
  t.equal(log.pending, 5);
  t.equal(log.stats.dropped, 3);
  t.equal(drops, 3);
  await log.flush();
  t.equal(sink.lines.length, 5);
});

t.test('a failing sink loses its batch (counted) and never grows the buffer', async (t) => {
  const sink = new MemorySink();
  sink.failing = true;
  const log = new DecisionLog(sink, 5);
  for (let i = 0; i < 5; i++) log.push(rec(i));
  await log.flush();
  t.equal(log.pending, 0);
  t.equal(log.stats.dropped, 5);
  t.equal(log.stats.sinkErrors, 1);
});

/**
 * The skew audit from the command line (issue 14 item 3):
 *
 *   npm run skew-audit -- --audit served.ndjson --events-file events.ndjson \
 *     --redis redis://127.0.0.1:6379 --region eu-west [--json r.json] [--html r.html] \
 *     [--metrics-textfile /var/lib/node_exporter/atp_skew.prom] [--fail-on-alarm]
 *
 * Reads the sidecars' feature-audit records (serve --feature-audit), the
 * region's inventory events (a file or the topic with --brokers), and the
 * node directory and batch set from the regional Redis; recomputes every
 * audited vector with the training code and prints mismatches per feature.
 * The textfile is for node_exporter's textfile collector, so the alert rule
 * `AtpTrainingServingSkew` (deploy/observability) sees the job's verdict.
 * Exit codes: 0 done (alarms are in the output), 1 an alarm with
 * --fail-on-alarm or the run failed, 2 bad flags.
 */
import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { readTopicSnapshot } from '@mercato/adapters/kafka/kafka-topic-reader';
import { connectRedis } from '@mercato/adapters/redis/redis-client';
import { RedisNodeDirectory } from '@mercato/adapters/redis/redis-node-directory';
import { featureSchemaHash } from '@mercato/features/feature-vector';
import {
  createProgram,
  EXIT_FAILED,
  EXIT_OK,
  flagError,
  listFlag,
  onAction,
  runProgram,
  urlFlag,
} from '@mercato/platform/flags';
import { createLogger } from '@mercato/platform/logger';
import { runMain } from '@mercato/platform/run-main';
import { barChart, esc } from '@mercato/platform/svg-charts';
import { type FeatureAuditRecord, parseFeatureAudit } from '@mercato/proto/v1/feature-audit';
import { decodeEvent } from '@mercato/proto/v1/inventory-event';
import { parseRegionName } from '@mercato/proto/v1/regions';
import { mutationsTopic } from '@mercato/proto/v1/topics';
import { ContractError, parseJsonText } from '@mercato/proto/v1/validate';
import { realNumberFlag } from '../cli/number-flags.js';
import { AuditEventIndex, auditKeys, auditSkew, SKEW_ALARM_SHARE, type SkewReport } from './skew-audit.js';

interface RawFlags {
  audit: string[];
  eventsFile?: string;
  brokers?: string;
  topic?: string;
  redis: string;
  region: string;
  json?: string;
  html?: string;
  metricsTextfile?: string;
  alarmShare?: string;
  failOnAlarm?: boolean;
}

const collect = (v: string, acc: string[]) => [...acc, v];

/** Lines of a file, skipping blanks; counts and reports (to stderr) every 100K lines. */
async function eachLine(
  path: string,
  onLine: (line: string, n: number) => void,
  what: string,
): Promise<number> {
  const lines = createInterface({
    input: createReadStream(path, 'utf8'),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (n % 100_000 === 0) process.stderr.write(`skew-audit: ${n} ${what} lines read\n`);
    if (line.trim() !== '') onLine(line, n);
  }
  return n;
}

async function readAuditRecords(
  paths: readonly string[],
): Promise<{ records: FeatureAuditRecord[]; invalid: number }> {
  const records: FeatureAuditRecord[] = [];
  let invalid = 0;
  for (const p of paths) {
    await eachLine(
      p,
      (line) => {
        try {
          records.push(parseFeatureAudit(parseJsonText(line)));
        } catch (err) {
          if (!(err instanceof ContractError)) throw err;
          invalid++;
        }
      },
      'audit',
    );
  }
  return { records, invalid };
}

export function skewReportText(r: SkewReport, invalid: number): string {
  const skipped = Object.entries(r.skipped)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`);
  const lines = [
    `audited vectors ${r.records}, compared ${r.compared}${skipped.length > 0 ? `, skipped: ${skipped.join(', ')}` : ''}${invalid > 0 ? `, invalid lines ${invalid}` : ''}`,
    r.alarms.length === 0 ? 'systematic mismatches: none' : `SYSTEMATIC MISMATCHES: ${r.alarms.join(', ')}`,
  ];
  for (const f of r.features.filter((x) => x.mismatches > 0)) {
    const ex = f.examples[0];
    lines.push(
      `  ${f.feature}: ${f.mismatches}/${f.compared} (${(f.share * 100).toFixed(1)}%) max |diff| ${f.maxAbsDiff.toPrecision(4)}${ex === undefined ? '' : `, e.g. ${ex.sku}@${ex.node} served ${ex.served} recomputed ${ex.recomputed}`}`,
    );
  }
  return lines.join('\n');
}

export function skewReportHtml(r: SkewReport, generatedAt: string): string {
  const rows = r.features
    .map(
      (f) =>
        `<tr${f.systematic ? ' class="alarm"' : ''}><td>${esc(f.feature)}</td><td>${f.compared}</td><td>${f.mismatches}</td><td>${(f.share * 100).toFixed(2)}%</td><td>${f.maxAbsDiff.toPrecision(4)}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mercato-atp skew audit</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:1000px}table{border-collapse:collapse}td,th{padding:.2rem .6rem;border-bottom:1px solid #ddd;text-align:left}tr.alarm{background:#fde2e2}</style>
</head><body><h1>Training-serving skew audit</h1>
<p>Generated ${esc(generatedAt)}: ${r.compared} of ${r.records} served vectors recomputed from the event log.
${r.alarms.length === 0 ? 'No systematic mismatch.' : `<strong>Systematic mismatch: ${esc(r.alarms.join(', '))}</strong>`}</p>
${barChart(
  'Share of vectors that disagree, per feature',
  r.features.map((f) => [f.feature, f.share] as const),
  (v) => `${(v * 100).toFixed(1)}%`,
)}
<table><thead><tr><th>feature</th><th>compared</th><th>mismatches</th><th>share</th><th>max |diff|</th></tr></thead><tbody>
${rows}
</tbody></table></body></html>
`;
}

/** node_exporter textfile: the job's verdict as gauges (the alert rule reads atp_skew_alarm). */
export function skewTextfile(r: SkewReport, region: string, nowMs: number): string {
  const lines = [
    '# HELP atp_skew_mismatch_share Share of audited served vectors whose feature disagrees with the training code.',
    '# TYPE atp_skew_mismatch_share gauge',
    ...r.features.map((f) => `atp_skew_mismatch_share{region="${region}",feature="${f.feature}"} ${f.share}`),
    '# HELP atp_skew_compared_vectors Served vectors the last audit recomputed.',
    '# TYPE atp_skew_compared_vectors gauge',
    `atp_skew_compared_vectors{region="${region}"} ${r.compared}`,
    '# HELP atp_skew_alarm 1 when a feature mismatches systematically.',
    '# TYPE atp_skew_alarm gauge',
    `atp_skew_alarm{region="${region}"} ${r.alarms.length > 0 ? 1 : 0}`,
    '# HELP atp_skew_last_run_timestamp_seconds When the audit last finished.',
    '# TYPE atp_skew_last_run_timestamp_seconds gauge',
    `atp_skew_last_run_timestamp_seconds{region="${region}"} ${Math.round(nowMs / 1000)}`,
  ];
  return `${lines.join('\n')}\n`;
}

export function skewProgram() {
  const program = createProgram(
    'skew-audit',
    'Recompute the feature vectors sidecars served (serve --feature-audit) from the event log with the training code, and report mismatches per feature.',
  )
    .requiredOption(
      '--audit <file>',
      'feature-audit NDJSON written by serve --feature-audit (repeat for several)',
      collect,
      [],
    )
    .option('--events-file <file>', "the region's inventory events, NDJSON")
    .option('--brokers <list>', 'read the events topic instead of a file (host:port,...)')
    .option('--topic <name>', 'events topic with --brokers (default: the region mutations topic)')
    .requiredOption('--redis <url>', 'the regional Redis holding the node directory and batch set served')
    .requiredOption('--region <name>', 'region of the sidecars audited')
    .option('--json <file>', 'write the report as JSON')
    .option('--html <file>', 'write the report as HTML with a plot')
    .option(
      '--metrics-textfile <file>',
      "write the verdict as Prometheus gauges for node_exporter's textfile collector",
    )
    .option(
      '--alarm-share <x>',
      `share of vectors disagreeing on a feature that is systematic (default ${SKEW_ALARM_SHARE})`,
    )
    .option('--fail-on-alarm', 'exit 1 when a feature mismatches systematically');
  return onAction(program, async () => {
    const f = program.opts<RawFlags>();
    const region = (() => {
      try {
        return parseRegionName(f.region, '--region');
      } catch (err) {
        throw flagError('--region', (err as Error).message);
      }
    })();
    if ((f.eventsFile === undefined) === (f.brokers === undefined)) {
      throw flagError('--events-file', 'pass exactly one of --events-file or --brokers');
    }
    const redisUrl = urlFlag(f.redis, '--redis', ['redis:', 'rediss:', 'redis+cluster:']);
    const alarmShare = realNumberFlag(f.alarmShare, '--alarm-share', 0, 1, SKEW_ALARM_SHARE);
    const { records, invalid } = await readAuditRecords(f.audit);
    process.stderr.write(`skew-audit: ${records.length} audited vectors (${invalid} invalid lines)\n`);
    const index = new AuditEventIndex(auditKeys(records));
    let events = 0;
    if (f.eventsFile !== undefined) {
      await eachLine(
        f.eventsFile,
        (line) => {
          try {
            index.add(decodeEvent(line));
            events++;
          } catch (err) {
            if (!(err instanceof ContractError)) throw err;
          }
        },
        'event',
      );
    } else {
      const logger = createLogger({ name: 'skew-audit', level: 'warn' });
      await readTopicSnapshot(
        f.topic ?? mutationsTopic(region),
        { brokers: listFlag(f.brokers!, '--brokers'), clientId: 'atp-skew-audit', logger },
        (rec) => {
          if (rec.value === null) return;
          try {
            index.add(decodeEvent(rec.value.toString('utf8')));
            events++;
          } catch (err) {
            if (!(err instanceof ContractError)) throw err;
          }
        },
      );
    }
    process.stderr.write(`skew-audit: ${events} events read\n`);
    const redis = await connectRedis(redisUrl, 'write');
    let report: SkewReport;
    try {
      const directory = new RedisNodeDirectory(redis, region);
      await directory.refresh();
      report = auditSkew(records, index, directory, { alarmShare, featureSchema: featureSchemaHash() });
    } finally {
      redis.disconnect();
    }
    process.stdout.write(`${skewReportText(report, invalid)}\n`);
    if (f.json !== undefined)
      await writeFile(f.json, `${JSON.stringify({ region, invalid, ...report }, null, 2)}\n`);
    if (f.html !== undefined) await writeFile(f.html, skewReportHtml(report, new Date().toISOString()));
    if (f.metricsTextfile !== undefined)
      await writeFile(f.metricsTextfile, skewTextfile(report, region, Date.now()));
    return f.failOnAlarm === true && report.alarms.length > 0 ? EXIT_FAILED : EXIT_OK;
  });
}

export async function main(argv: readonly string[]): Promise<number> {
  return runProgram(skewProgram(), argv);
}

runMain(import.meta.url, main);

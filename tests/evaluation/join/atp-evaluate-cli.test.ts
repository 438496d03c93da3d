/**
 * The installed command `atp-evaluate` on NDJSON files: a file run with
 * --close-all gives the batch recomputation, a second run over the same
 * files changes nothing, malformed lines land in the dead-letter file with
 * field and reason, `report` prints text and JSON, bad flags are refused by
 * name with exit code 2.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import t from 'tap';
import type { EvaluationReport } from '../../../evaluation/src/report/evaluation-report.js';
import { REPO_ROOT } from '../../helpers/fixtures.js';
import { MIN, orderedLines, plain, randomWorld, recompute, segmentsByKey } from './join-stream.js';

const BIN = joinPath(REPO_ROOT, 'evaluation/bin/atp-evaluate.js');
const dir = mkdtempSync(joinPath(tmpdir(), 'atp-eval-cli-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

t.test('a file run gives the batch recomputation, and running it again changes nothing', async (t) => {
  const world = randomWorld(150, 9);
  const lines = orderedLines(world);
  const decisions = lines.filter((l) => l.stream === 'decisions').map((l) => l.text);
  const outcomes = lines.filter((l) => l.stream === 'outcomes').map((l) => l.text);
  decisions.splice(3, 0, '{"schema":"atp.decision.v1","decision_id":"x"}');
  outcomes.splice(5, 0, 'not json at all');
  const dFile = joinPath(dir, 'decisions.ndjson');
  const oFile = joinPath(dir, 'outcomes.ndjson');
  writeFileSync(dFile, `${decisions.join('\n')}\n`);
  writeFileSync(oFile, `${outcomes.join('\n')}\n`);
  const db = joinPath(dir, 'eval.sqlite');
  const dlq = joinPath(dir, 'dead.ndjson');
  const args = [
    'run',
    '--region',
    'eu-west',
    '--db',
    db,
    '--decisions-file',
    dFile,
    '--outcomes-file',
    oFile,
  ];
  const runArgs = [
    ...args,
    '--dlq-file',
    dlq,
    '--close-all',
    '--horizon-ms',
    String(60 * MIN),
    '--http-port',
    'off',
    '--log-level',
    'warn',
  ];
  const first = cli(...runArgs);
  t.equal(first.code, 0, first.stderr);
  const report = () => JSON.parse(cli('report', '--db', db, '--json').stdout) as EvaluationReport;
  const r1 = report();
  t.same(plain(segmentsByKey(r1.segments)), plain(recompute(world, 60 * MIN)), 'the batch recomputation');
  t.equal(r1.pendingDecisions, 0, '--close-all closed every window');
  t.equal(r1.counters.dead_lettered, 2);

  const again = cli(...runArgs);
  t.equal(again.code, 0, again.stderr);
  const r2 = report();
  t.same(r2.segments, r1.segments, 'a second run over the same files changes no figure');
  t.equal(
    r2.counters.records_replayed,
    decisions.length + outcomes.length,
    'every line skipped by its stored offset',
  );

  const letters = readFileSync(dlq, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  t.equal(letters.length, 2, 'dead letters written once (the re-run skipped them)');
  t.match(letters, [
    { stream: 'decisions', offset: 3, code: 'ATP_ERR_EVALUATION_MALFORMED_RECORD', field: /./, reason: /./ },
    { stream: 'outcomes', offset: 5, field: '$', reason: /not valid JSON/ },
  ]);

  const text = cli('report', '--db', db, '--arm', 'champion');
  t.equal(text.code, 0);
  t.match(text.stdout, /champion/);
  t.notMatch(text.stdout, /challenger/, '--arm narrows the report');
  t.match(text.stdout, /Wilson 95%/);
});

t.test('bad flags are refused by name with exit code 2', async (t) => {
  const cases: [string[], RegExp][] = [
    [['run', '--db', joinPath(dir, 'a.sqlite')], /--region: required/],
    [
      [
        'run',
        '--region',
        'eu-west',
        '--db',
        joinPath(dir, 'a.sqlite'),
        '--brokers',
        'h:1',
        '--decisions-file',
        'x',
      ],
      /--brokers: give either/,
    ],
    [
      ['run', '--region', 'eu-west', '--db', joinPath(dir, 'a.sqlite'), '--decisions-file', 'x'],
      /--outcomes-file: required/,
    ],
    [
      [
        'run',
        '--region',
        'eu-west',
        '--db',
        joinPath(dir, 'a.sqlite'),
        '--brokers',
        'h:1',
        '--lateness-ms',
        'soon',
      ],
      /--lateness-ms: expected an integer/,
    ],
    [['report', '--db', joinPath(dir, 'a.sqlite'), '--confidence', '2'], /--confidence: expected a number/],
    [['report', '--db', joinPath(dir, 'a.sqlite'), '--arm', 'no spaces'], /--arm: expected an arm id/],
  ];
  for (const [args, message] of cases) {
    const r = cli(...args);
    t.equal(r.code, 2, args.join(' '));
    t.match(r.stderr, message);
  }
  const missing = cli('report', '--db', joinPath(dir, 'missing.sqlite'));
  t.not(missing.code, 0);
  t.match(missing.stderr, /ATP_ERR_EVALUATION_STORE .*missing\.sqlite/);
  t.equal(cli('--help').code, 0);
});

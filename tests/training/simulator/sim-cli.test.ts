import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { decodeEvent } from '../../../proto/v1/inventory-event.js';
import { parseCliArgs } from '../../../training/src/sim-cli.js';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '../../../training/src/sim-cli.ts');

t.test('flags parse into options with defaults', async (t) => {
  t.same(parseCliArgs(['--events', '1_000']), {
    events: 1000,
    seed: 1,
    out: null,
    report: false,
    startTimeMs: null,
  });
  t.same(
    parseCliArgs(
      ['--seed', '9', '--events', '5', '--out', 'x.ndjson', '--report', '--start-ms', 'now'],
      () => 42,
    ),
    {
      events: 5,
      seed: 9,
      out: 'x.ndjson',
      report: true,
      startTimeMs: 42,
    },
  );
  t.equal(parseCliArgs(['--help']), 'help');
});

t.test('bad flags are rejected with an error naming the flag', async (t) => {
  const cases: [string[], RegExp][] = [
    [[], /--events is required/],
    [['--events', 'abc'], /^--events: expected a whole number/],
    [['--events', '0'], /^--events: must be between 1/],
    [['--events', '5', '--seed', '1.5'], /^--seed: expected a whole number/],
    [['--events', '5', '--seed', '4294967296'], /^--seed: must be between/],
    [['--events', '5', '--start-ms', 'yesterday'], /^--start-ms: expected a whole number/],
    [['--events', '5', '--bogus'], /--bogus/],
  ];
  for (const [argv, msg] of cases)
    t.throws(() => parseCliArgs(argv), { name: 'AtpError', code: 'ATP_ERR_INVALID_FLAG', message: msg });
});

t.test('the CLI writes replayable NDJSON and prints the oversell table', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sim-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'events.ndjson');
  const { stdout, stderr } = await run(
    process.execPath,
    ['--import', 'tsx', CLI, '--seed', '4', '--events', '30000', '--out', out, '--report'],
    { cwd: join(import.meta.dirname, '../../..') },
  );
  const lines = readFileSync(out, 'utf8').trimEnd().split('\n');
  t.ok(lines.length >= 30_000, `${lines.length} lines`);
  t.ok(
    lines.every((l) => decodeEvent(l).eventId.startsWith('e-4-')),
    'every line decodes as an inventory event',
  );
  t.match(stdout, /events \(seed 4\) in .* events\/s/);
  t.match(stdout, /warehouse +\d+/);
  t.match(stdout, /oversell %/);
  t.match(stderr, /100\.0%/, 'progress reaches 100%');
});

t.test('the CLI exits 2 with a message naming a bad flag', async (t) => {
  const err = await run(process.execPath, ['--import', 'tsx', CLI, '--events', 'lots'], {
    cwd: join(import.meta.dirname, '../../..'),
  }).catch((e: { code: number; stderr: string }) => e);
  t.equal((err as { code: number }).code, 2);
  t.match((err as { stderr: string }).stderr, /--events: expected a whole number, got "lots"/);
});

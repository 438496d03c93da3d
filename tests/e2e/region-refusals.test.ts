/**
 * Issue 15 acceptance: "a request for another region, a topic of another
 * region, an unknown region in any lever: refused with an error naming the
 * field (HTTP, gRPC, CLI)". What this file adds to the tests that already
 * cover part of it:
 *
 * - request for another region, HTTP and gRPC: tests/sidecar/adapters/request-region.test.ts;
 * - unknown region in a lever, HTTP admin API and atpctl:
 *   tests/control-plane/regions/region-registry.test.ts ("refused by every lever");
 * - here: every region parser agrees on which names are regions (the issue
 *   found `eu_west` passing one of them), and the CLIs refuse an unknown
 *   region, a topic of another region and another region's endpoints at
 *   start, naming the flag, as real processes (exit code 2).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { loadRegionRegistry } from '../../adapters/src/regions/region-registry-file.js';
import { runPartsFromFlags } from '../../evaluation/src/main.js';
import { parseIngestArgs } from '../../ingest/src/main.js';
import { createLogger } from '../../platform/src/logger.js';
import { parseRegionEntry, requireRegion } from '../../proto/v1/region-registry.js';
import { parseRegionName } from '../../proto/v1/regions.js';
import { parseServeFlags } from '../../sidecar/src/cli/serve-flags.js';
import { federatedRegionsFlag } from '../../training/src/cli/federated-regions-flag.js';
import { validateDataPlaneFlags } from '../../wasm-filter/data-plane/data-plane-config.js';
import { REPO_ROOT } from '../helpers/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'atp-region-refusals-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const regionsFile = join(dir, 'regions.json');
writeFileSync(
  regionsFile,
  JSON.stringify({
    regions: [
      { name: 'eu-west', residency: 'eu-gdpr', redis_url: 'redis://redis.eu-west:6379', flows: [] },
      {
        name: 'us-east',
        residency: 'us',
        redis_url: 'redis://redis.us-east:6379',
        kafka_brokers: ['kafka.us-east:9092'],
        flows: [],
      },
      { name: 'ap-south-1', residency: 'open', flows: [] },
    ],
  }),
);

/** Known to the registry file; well formed but unknown; malformed. */
const KNOWN = ['eu-west', 'us-east', 'ap-south-1'];
const UNKNOWN = ['eu-wset', 'eu-central', 'mars-1'];
const MALFORMED = [
  'eu_west',
  'EU-WEST',
  'Eu-West',
  'eu--west',
  '-eu',
  'eu-',
  'eu west',
  'eu.west',
  'x'.repeat(33),
  '',
];

/** Whether `f` accepts `name` (throws = refused); the refusal must name `field`. */
function accepts(t: Test, f: () => unknown, field: string | RegExp, what: string): boolean {
  try {
    f();
    return true;
  } catch (err) {
    const e = err as { field?: string; message: string };
    t.match(e.field, field, `${what}: the refusal names ${field}`);
    return false;
  }
}

t.test('every region parser accepts exactly the same names', async (t) => {
  const registry = loadRegionRegistry(regionsFile);
  const logger = createLogger({ level: 'silent' });
  const parsers: Record<string, [(name: string) => unknown, string | RegExp, boolean]> = {
    // [parse, field named, registry-aware]
    'proto parseRegionName': [(n) => parseRegionName(n), 'region', false],
    'registry entry (control plane)': [
      (n) => requireRegion(registry, parseRegionEntry({ name: n, residency: 'open' }).name),
      /^(name|region)$/,
      true,
    ],
    'serve --region': [(n) => parseServeFlags({ region: n, regionsFile, rulesOnly: true }), '--region', true],
    'ingest --region': [
      (n) =>
        parseIngestArgs([
          '--brokers',
          'a:1',
          '--redis',
          'redis://r:1',
          '--region',
          n,
          '--regions-file',
          regionsFile,
        ]),
      '--region',
      true,
    ],
    'atp-evaluate run --region': [
      (n) =>
        runPartsFromFlags(
          { region: n, regionsFile, db: join(dir, 'x.sqlite'), decisionsFile: 'd', outcomesFile: 'o' },
          logger,
        ),
      '--region',
      true,
    ],
    'atp-data-plane --region': [
      (n) => validateDataPlaneFlags({ region: n, sidecar: '127.0.0.1:1', upstream: '127.0.0.1:2' } as never),
      '--region',
      false,
    ],
  };
  for (const [name, [parse, field, registryAware]] of Object.entries(parsers)) {
    for (const n of KNOWN)
      t.ok(
        accepts(t, () => parse(n), field, `${name} ${n}`),
        `${name} accepts ${n}`,
      );
    for (const n of MALFORMED) {
      t.notOk(
        accepts(t, () => parse(n), field, `${name} "${n}"`),
        `${name} refuses "${n}"`,
      );
    }
    for (const n of UNKNOWN) {
      t.equal(
        accepts(t, () => parse(n), field, `${name} ${n}`),
        !registryAware,
        `${name} on unknown ${n}`,
      );
    }
  }
  // The federated trainer validates against the default registry (its regions are the product's).
  t.same(federatedRegionsFlag('eu-west,us-east'), ['eu-west', 'us-east']);
  t.throws(() => federatedRegionsFlag('eu-west,eu_west'), { field: '--federated-regions', message: /./ });
});

t.test('flags: a topic of another region and endpoints of another region are refused by name', async (t) => {
  const ingest =
    (...extra: string[]) =>
    () =>
      parseIngestArgs([
        '--brokers',
        '127.0.0.1:9092',
        '--redis',
        'redis://127.0.0.1:6379',
        '--region',
        'eu-west',
        '--regions-file',
        regionsFile,
        ...extra,
      ]);
  t.throws(ingest('--topic', 'inventory.mutations.us-east'), {
    code: 'ATP_ERR_INGEST_CONFIG',
    field: '--topic',
    message: /us-east's topic; this ingester serves eu-west/,
  });
  t.throws(ingest('--topic', 'inventory.mutations'), {
    field: '--topic',
    message: /this ingester serves eu-west/,
  });
  t.throws(ingest('--dlq-topic', 'inventory.mutations.us-east.dlq'), { field: '--dlq-topic', message: /./ });
  t.equal(
    parseIngestArgs([
      '--brokers',
      'a:1',
      '--redis',
      'redis://r:1',
      '--region',
      'eu-west',
      '--topic',
      'mirror.eu-west',
    ]).topic,
    'mirror.eu-west',
  );
  t.throws(
    () =>
      parseIngestArgs([
        '--brokers',
        'kafka.us-east:9092',
        '--redis',
        'redis://127.0.0.1:6379',
        '--region',
        'eu-west',
        '--regions-file',
        regionsFile,
      ]),
    { field: '--brokers', message: /kafka.us-east:9092 is us-east's/ },
  );
  t.throws(
    () =>
      parseIngestArgs([
        '--brokers',
        'a:1',
        '--redis',
        'redis://redis.us-east:6379',
        '--region',
        'eu-west',
        '--regions-file',
        regionsFile,
      ]),
    { field: '--redis', message: /us-east's/ },
  );
  t.throws(() => parseServeFlags({ region: 'eu-west', regionsFile, redis: 'redis://redis.us-east:6379' }), {
    code: 'ATP_ERR_INVALID_FLAG',
    field: '--redis',
    message: /us-east's/,
  });
  t.throws(
    () => parseServeFlags({ region: 'eu-west', regionsFile, decisionStream: 'kafka://kafka.us-east:9092' }),
    { code: 'ATP_ERR_INVALID_FLAG', field: '--decision-stream', message: /kafka.us-east:9092 is us-east's/ },
  );
  t.throws(
    () =>
      runPartsFromFlags(
        { region: 'eu-west', regionsFile, db: join(dir, 'y.sqlite'), brokers: 'kafka.us-east:9092' },
        createLogger({ level: 'silent' }),
      ),
    { code: 'ATP_ERR_INVALID_FLAG', field: '--brokers', message: /us-east's/ },
  );
  t.throws(() => parseServeFlags({ region: 'eu-west', regionsFile: join(dir, 'none.json') }), {
    field: '--regions-file',
    message: /cannot read/,
  });
});

/** Runs a CLI as a process; exit code and stderr. */
function cli(entry: string, args: string[]): { code: number | null; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', entry, ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stderr: r.stderr };
}

t.test('the CLIs refuse at start, exit 2, naming the flag', async (t) => {
  const cases: [string, string[], RegExp][] = [
    [
      'sidecar/src/main.ts',
      ['serve', '--region', 'eu-wset', '--rules-only'],
      /ATP_ERR_INVALID_FLAG --region: unknown region "eu-wset" \(known regions: eu-central, eu-west, us-east\)/,
    ],
    [
      'sidecar/src/main.ts',
      [
        'serve',
        '--region',
        'eu-west',
        '--regions-file',
        regionsFile,
        '--decision-stream',
        'kafka://kafka.us-east:9092',
      ],
      /ATP_ERR_INVALID_FLAG --decision-stream: .*us-east's/,
    ],
    [
      'ingest/src/main.ts',
      [
        '--brokers',
        '127.0.0.1:1',
        '--redis',
        'redis://127.0.0.1:1',
        '--region',
        'eu-west',
        '--topic',
        'inventory.mutations.us-east',
      ],
      /ATP_ERR_INGEST_CONFIG --topic: .*us-east's topic/,
    ],
    [
      'ingest/src/main.ts',
      ['--brokers', '127.0.0.1:1', '--redis', 'redis://127.0.0.1:1', '--region', 'eu_west'],
      /ATP_ERR_INGEST_CONFIG --region: expected a region name/,
    ],
    [
      'evaluation/src/main.ts',
      ['run', '--region', 'mars-1', '--db', join(dir, 'z.sqlite'), '--brokers', '127.0.0.1:1'],
      /ATP_ERR_INVALID_FLAG --region: unknown region "mars-1"/,
    ],
  ];
  for (const [entry, args, message] of cases) {
    const r = cli(entry, args);
    t.equal(r.code, 2, `${entry} ${args.join(' ')}: exit 2`);
    t.match(r.stderr, message);
  }
});

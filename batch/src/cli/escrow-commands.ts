/**
 * `atp-batch escrow budget|reconcile` (the composition of the escrow jobs):
 *
 *   atp-batch escrow budget --origin eu-west --origin-redis redis://X --holder eu-central \
 *       --holder-redis redis://Y (--sku SKU-1 [--sku SKU-2 ...] | --skus-file FILE) [--share 0.2] [--every-s 30]
 *   atp-batch escrow reconcile --origin eu-west --origin-redis redis://X --holder eu-central \
 *       --holder-redis redis://Y
 *
 * `budget` moves allotments out of the origin's promisable stock into the
 * holder's failover budget (once, or every N s until SIGTERM); `reconcile`,
 * once the origin is back, applies what the holder promised to the origin
 * and returns the rest. One JSON line per run on stdout. Errors name the
 * flag; exit codes as every atp-batch command.
 */

import { readFileSync } from 'node:fs';
import { connectRedis, type RedisClient } from '@mercato/adapters/redis/redis-client';
import { RedisNodeDirectory } from '@mercato/adapters/redis/redis-node-directory';
import { parseRedisUrl } from '@mercato/adapters/redis/redis-url';
import {
  type Command,
  collect,
  EXIT_OK,
  flagError,
  intFlag,
  numberFlag,
  onAction,
  parsedFlag,
  requiredFlag,
} from '@mercato/platform/flags';
import { parseRegionName } from '@mercato/proto/v1/regions';
import { DEFAULT_ESCROW_SHARE, MAX_ESCROW_SHARE, runEscrowBudgetJob } from '../escrow/escrow-budget-job.js';
import { EscrowLedger } from '../escrow/escrow-ledger.js';
import { runEscrowReconcileJob } from '../escrow/escrow-reconcile-job.js';
import { runEvery } from './run-every.js';

const MAX_EVERY_S = 86_400;
const MAX_SKUS = 10_000;
const SKU_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

interface PairFlags {
  origin?: string;
  originRedis?: string;
  holder?: string;
  holderRedis?: string;
}

interface BudgetFlags extends PairFlags {
  sku?: string[];
  skusFile?: string;
  share?: string;
  everyS?: string;
}

function regionFlag(raw: string | undefined, flag: string, what: string): string {
  return parsedFlag(requiredFlag(raw, flag, what), flag, (s) => parseRegionName(s, flag));
}

function redisFlag(raw: string | undefined, flag: string, what: string): string {
  return parsedFlag(requiredFlag(raw, flag, what), flag, (s) => {
    parseRedisUrl(s);
    return s;
  });
}

function pair(f: PairFlags) {
  const origin = regionFlag(f.origin, '--origin', 'the region whose stock is escrowed');
  const holder = regionFlag(f.holder, '--holder', 'the neighbour region holding the budget');
  if (holder === origin) throw flagError('--holder', `must differ from --origin (${origin})`);
  return {
    origin,
    holder,
    originRedis: redisFlag(f.originRedis, '--origin-redis', "the origin region's Redis"),
    holderRedis: redisFlag(f.holderRedis, '--holder-redis', "the holder region's Redis"),
  };
}

async function withLedger<T>(
  p: ReturnType<typeof pair>,
  run: (l: EscrowLedger, x: RedisClient) => Promise<T>,
) {
  const x = await connectRedis(p.originRedis, 'write');
  try {
    const y = await connectRedis(p.holderRedis, 'write');
    try {
      return await run(new EscrowLedger(p.origin, x, p.holder, y), x);
    } finally {
      y.disconnect();
    }
  } finally {
    x.disconnect();
  }
}

/** One SKU per line; blank lines and `#` comments skipped. An empty file selects none (the run does nothing). */
function readSkusFile(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw flagError('--skus-file', `cannot read ${path} (${(err as Error).message})`);
  }
  const skus: string[] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') continue;
    if (!SKU_RE.test(line)) {
      throw flagError(
        '--skus-file',
        `line ${i + 1}: "${line.slice(0, 40)}" is not a SKU id (letters, digits, . _ : -)`,
      );
    }
    skus.push(line);
  }
  return skus;
}

function print(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

async function budget(f: BudgetFlags): Promise<number> {
  const p = pair(f);
  const fromFile = f.skusFile === undefined ? [] : readSkusFile(f.skusFile);
  const skus = [...new Set([...(f.sku ?? []), ...fromFile])];
  if (skus.length === 0 && f.skusFile === undefined)
    throw flagError('--sku', 'required: the SKUs to keep a failover budget for (repeatable), or --skus-file');
  if (skus.length > MAX_SKUS) throw flagError('--sku', `at most ${MAX_SKUS} SKUs`);
  for (const s of skus) {
    if (!SKU_RE.test(s))
      throw flagError('--sku', `"${s.slice(0, 40)}" is not a SKU id (letters, digits, . _ : -)`);
  }
  const share = numberFlag(f.share, '--share', { min: 0, max: MAX_ESCROW_SHARE }, DEFAULT_ESCROW_SHARE);
  if (share === 0) throw flagError('--share', `expected a share in (0, ${MAX_ESCROW_SHARE}], got 0`);
  const everyS = intFlag(f.everyS, '--every-s', { min: 1, max: MAX_EVERY_S });
  return withLedger(p, async (ledger, x) => {
    const directory = new RedisNodeDirectory(x, p.origin);
    const once = async () => {
      await directory.refresh();
      const r = await runEscrowBudgetJob(ledger, { skus, share }, (id) => directory.info(id)?.nodeType);
      print({ event: 'escrow_budget', ...r });
    };
    // A failed run (a region unreachable) changes nothing half way that the next run does not finish.
    await runEvery('escrow-budget', everyS, once, (err) =>
      print({ event: 'escrow_budget_failed', error: err.message }),
    );
    return EXIT_OK;
  });
}

async function reconcile(f: PairFlags): Promise<number> {
  const p = pair(f);
  return withLedger(p, async (ledger) => {
    const r = await runEscrowReconcileJob(ledger, Date.now());
    print({ event: 'escrow_reconciled', ...r });
    return EXIT_OK;
  });
}

/** Adds `escrow budget` and `escrow reconcile` to the atp-batch program. */
export function addEscrowCommands(program: Command): void {
  const escrow = program
    .command('escrow')
    .description("cross-region failover budgets: keep a neighbour's budget, reconcile after an outage");
  const withPair = (c: Command) =>
    c
      .option('--origin <region>', 'the region whose stock is escrowed (required)')
      .option('--origin-redis <url>', "the origin region's Redis (required)")
      .option('--holder <region>', 'the neighbour region that answers for it while it is down (required)')
      .option('--holder-redis <url>', "the holder region's Redis (required)");
  onAction(
    withPair(
      escrow.command('budget').description("top up the holder's failover budget from the origin's stock"),
    )
      .option('--sku <sku>', 'a SKU to keep a budget for (repeatable; this or --skus-file)', collect, [])
      .option('--skus-file <file>', 'SKUs to keep a budget for, one per line (# comments); may be empty')
      .option('--share <share>', `share of each (sku,node) pool held (default ${DEFAULT_ESCROW_SHARE})`)
      .option('--every-s <seconds>', 'run again every N seconds until SIGTERM (default: once)'),
    budget,
  );
  onAction(
    withPair(
      escrow
        .command('reconcile')
        .description(
          'after recovery: apply what the holder promised to the origin, return the unused budget',
        ),
    ),
    reconcile,
  );
}

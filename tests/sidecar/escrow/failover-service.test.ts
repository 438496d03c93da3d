/**
 * The failover answers (sidecar/src/escrow/failover-service.ts) against a
 * real redis-server holding a neighbour's escrow budget: only the listed
 * origin is answered, only from its budget, flagged; a basket is promised
 * whole or not at all; shadow mode and product pages take nothing; control
 * rules apply; a budget store that does not answer denies. Through the real
 * HTTP edge of a sidecar built by createSidecar: its own region goes to the
 * engine, the failover region is accepted, any other is refused naming
 * `region`; and the `--failover-for` flag is validated naming itself.
 */
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { budgetKeys } from '../../../adapters/src/redis/escrow-keys.js';
import { connectRedis } from '../../../adapters/src/redis/redis-client.js';
import type { CheckRequest, Mode } from '../../../proto/v1/decision.js';
import { defaultRegionRegistry } from '../../../proto/v1/region-registry.js';
import { loadAtpPackage } from '../../../sidecar/src/adapters/grpc/grpc-server.js';
import { HOLD_TOKEN_HEADER } from '../../../sidecar/src/adapters/http/hold-token.js';
import { parseRegionalRequest } from '../../../sidecar/src/adapters/request-region.js';
import { parseFailoverFor } from '../../../sidecar/src/cli/failover-flags.js';
import type { ControlView, DecisionService } from '../../../sidecar/src/decision/ports.js';
import type { EscrowBudgets } from '../../../sidecar/src/escrow/escrow-budgets.js';
import { FailoverService } from '../../../sidecar/src/escrow/failover-service.js';
import { RedisEscrowBudgets } from '../../../sidecar/src/escrow/redis-escrow-budgets.js';
import { createSidecar } from '../../../sidecar/src/sidecar.js';
import { startRedisServer } from '../../helpers/redis-server.js';

const HOLDER = 'eu-central';
const ORIGIN = 'eu-west';

const server = await startRedisServer();
t.teardown(() => server.stop());
const redis = await connectRedis(server.url, 'write');
t.teardown(() => redis.disconnect());
const budgets = new RedisEscrowBudgets(redis, HOLDER);

async function fund(sku: string, node: string, units: number, nodeType = 'warehouse') {
  const k = budgetKeys(HOLDER, ORIGIN, sku);
  await redis.hset(k.budget, node, units);
  await redis.hset(k.types, node, nodeType);
}

function control(over: Partial<ControlView> & { mode?: Mode } = {}): ControlView {
  return {
    rulesVersion: 'rules-test',
    modeFor: () => over.mode ?? 'enforce',
    killedFor: () => null,
    holdOn: () => undefined,
    skuKilled: () => undefined,
    seller: () => undefined,
    ...over,
  };
}

const inner: DecisionService = {
  check: async () => {
    throw new Error('the own-region engine must not be asked for a failover request');
  },
};

function service(c: ControlView = control(), b: EscrowBudgets = budgets) {
  return new FailoverService({
    inner,
    region: HOLDER,
    origins: new Set([ORIGIN]),
    budgets: b,
    control: c,
    clock: Date.now,
    defaultMode: 'enforce',
  });
}

function req(items: [string, number][], channel: 'checkout' | 'browse' = 'checkout'): CheckRequest {
  return {
    requestId: `r-${Math.random()}`,
    region: ORIGIN,
    buyerZone: 'Z0-0',
    channel,
    items: items.map(([sku, qty]) => ({ sku, qty })),
  };
}

const left = async (sku: string) =>
  Object.values(await redis.hgetall(budgetKeys(HOLDER, ORIGIN, sku).budget)).reduce(
    (a, v) => a + Number(v),
    0,
  );

t.test('a failover checkout is promised from the budget only, flagged region-failover', async (t) => {
  await fund('A', 'WH-1', 3);
  const r = await service().check(req([['A', 2]]));
  t.equal(r.decision, 'allow');
  t.same(r.degradations, ['region-failover']);
  t.equal(r.region, ORIGIN);
  t.equal(r.items[0]!.options[0]!.nodeId, 'WH-1');
  t.equal(r.items[0]!.options[0]!.nodeType, 'warehouse');
  t.equal(r.pFulfillKind, 'stock-only');
  t.equal(await left('A'), 1);
  const no = await service().check(req([['A', 2]]));
  t.equal(no.decision, 'deny', 'no budget for 2 more: denied');
  t.same(no.items[0]!.reasons, ['INSUFFICIENT_ATP']);
  t.same(no.degradations, ['region-failover']);
  const unknown = await service().check(req([['NEVER-FUNDED', 1]]));
  t.equal(unknown.decision, 'deny', 'a SKU without a budget is denied, whatever stock the holder has');
});

t.test('a basket is promised whole or not at all', async (t) => {
  await fund('B1', 'WH-1', 5);
  await fund('B2', 'ST-1', 1, 'store');
  const r = await service().check(
    req([
      ['B1', 2],
      ['B2', 2],
    ]),
  );
  t.equal(r.decision, 'deny');
  t.same(
    r.items.map((i) => i.reasons[0]),
    ['RESERVATION_FAILED', 'INSUFFICIENT_ATP'],
  );
  t.equal(await left('B1'), 5, "the first item's units went back to the budget");
  const ok = await service().check(
    req([
      ['B1', 2],
      ['B2', 1],
    ]),
  );
  t.equal(ok.decision, 'allow');
  t.equal(ok.items[1]!.options[0]!.nodeType, 'store');
  t.equal(await left('B1'), 3);
  t.equal(await left('B2'), 0);
  // The same SKU twice counts its total, taken once.
  await fund('F', 'WH-1', 3);
  const twice = await service().check(
    req([
      ['F', 2],
      ['F', 2],
    ]),
  );
  t.equal(twice.decision, 'deny', '2 + 2 of a budget of 3: denied');
  t.equal(await left('F'), 3);
  const fits = await service().check(
    req([
      ['F', 1],
      ['F', 2],
    ]),
  );
  t.equal(fits.decision, 'allow');
  t.same(
    fits.items.map((i) => i.qty),
    [1, 2],
  );
  t.equal(await left('F'), 0, '1 + 2 taken');
});

t.test('shadow mode and product pages look at the budget and take nothing', async (t) => {
  await fund('C', 'WH-1', 2);
  const shadow = await service(control({ mode: 'shadow' })).check(req([['C', 2]]));
  t.equal(shadow.decision, 'allow');
  t.equal(shadow.mode, 'shadow');
  const page = await service().check(req([['C', 1]], 'browse'));
  t.equal(page.decision, 'allow');
  t.same(page.degradations, ['region-failover']);
  t.equal(await left('C'), 2, 'nothing taken');
});

t.test(
  'control rules apply: a compliance hold denies, a kill switch steps aside without taking',
  async (t) => {
    await fund('D', 'WH-1', 2);
    const held = await service(control({ holdOn: () => 'recall' })).check(req([['D', 1]]));
    t.same(held.items[0]!.reasons, ['COMPLIANCE_HOLD']);
    t.equal(held.decision, 'deny');
    const killed = await service(
      control({ killedFor: () => ({ killed: true, reason: 'incident' }) as never }),
    ).check(req([['D', 1]]));
    t.equal(killed.decision, 'allow');
    t.same(killed.items[0]!.reasons, ['KILL_SWITCH']);
    t.equal(await left('D'), 2);
  },
);

t.test('a budget store that does not answer denies, flagged redis too', async (t) => {
  const broken: EscrowBudgets = {
    take: async () => {
      throw new Error('Command timed out');
    },
    giveBack: async () => false,
    holds: async () => false,
    peek: async () => {
      throw new Error('Command timed out');
    },
  };
  const r = await service(control(), broken).check(req([['A', 1]]));
  t.equal(r.decision, 'deny');
  t.same(r.items[0]!.reasons, ['RESERVATION_FAILED']);
  t.same(r.degradations, ['region-failover', 'redis']);

  // The script ran but its answer came too late: the units go back, not lost until reconcile.
  await fund('LATE', 'WH-1', 3);
  const late: EscrowBudgets = {
    holds: (o, k, d) => budgets.holds(o, k, d),
    giveBack: (o, k, d) => budgets.giveBack(o, k, d),
    peek: (o, k, q) => budgets.peek(o, k, q),
    take: async (o, k, q, d) => {
      await budgets.take(o, k, q, d);
      throw new Error('Command timed out');
    },
  };
  const slow = await service(control(), late).check(req([['LATE', 2]]));
  t.equal(slow.decision, 'deny');
  await new Promise((r) => setTimeout(r, 100));
  t.equal(await left('LATE'), 3, 'the timed-out take was given back');
});

t.test('the edges accept the failover region, refuse any other naming region', async (t) => {
  const raw = (region: string) => ({
    request_id: 'q',
    region,
    buyer_zone: 'Z0-0',
    channel: 'checkout',
    items: [{ sku: 'A', qty: 1 }],
  });
  t.equal(parseRegionalRequest(raw(ORIGIN), HOLDER, new Set([ORIGIN])).region, ORIGIN);
  t.throws(() => parseRegionalRequest(raw(ORIGIN), HOLDER), {
    code: 'ATP_ERR_WRONG_REGION',
    field: 'region',
  });
  t.throws(() => parseRegionalRequest(raw('us-east'), HOLDER, new Set([ORIGIN])), {
    code: 'ATP_ERR_WRONG_REGION',
    field: 'region',
  });

  await fund('E', 'WH-1', 1);
  const sc = createSidecar({
    region: HOLDER,
    defaultMetrics: false,
    drift: false,
    failover: { origins: [ORIGIN], budgets },
  });
  t.teardown(() => sc.stop());
  const { httpPort } = await sc.start();
  const post = async (region: string) => {
    const res = await fetch(`http://127.0.0.1:${httpPort}/v1/check`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...raw(region), items: [{ sku: 'E', qty: 1 }] }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any>, headers: res.headers };
  };
  const fo = await post(ORIGIN);
  t.equal(fo.status, 200);
  t.equal(fo.body.decision, 'allow');
  t.equal(
    fo.headers.get('x-atp-degraded'),
    'region-failover',
    'the filter sees the degradation in its header',
  );
  const own = await post(HOLDER);
  t.equal(own.status, 200);
  t.notOk(
    (own.body.degradations as string[]).includes('region-failover'),
    'its own region: the engine answers',
  );
  const other = await post('us-east');
  t.equal(other.status, 421);
  t.equal(other.body.error.field, 'region');
  const m = await sc.metrics.registry.metrics();
  t.match(m, 'atp_failover_decisions_total{origin="eu-west",decision="allow"} 1');
  t.match(m, 'atp_escrow_budget_units{origin="eu-west"} 0');

  // The order is cancelled: releasing the failover promise puts its unit back into the budget.
  t.equal(await left('E'), 0);
  const release = await fetch(`http://127.0.0.1:${httpPort}/v1/reservations/release`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      decision_id: fo.body.decision_id,
      hold_token: fo.headers.get(HOLD_TOKEN_HEADER),
      skus: ['E'],
    }),
  });
  t.same(await release.json(), { decision_id: fo.body.decision_id, released: 1 });
  t.equal(await left('E'), 1, 'the unit is back in the budget');
});

t.test(
  'over gRPC too: the failover region is answered from escrow, another refused naming region',
  async (t) => {
    await fund('G', 'WH-1', 1);
    const sc = createSidecar({
      region: HOLDER,
      defaultMetrics: false,
      drift: false,
      failover: { origins: [ORIGIN], budgets },
    });
    t.teardown(() => sc.stop());
    const { grpcPort } = await sc.start();
    const pkg = loadAtpPackage() as any;
    const c = new pkg.mercato.atp.v1.AvailabilityService(
      `127.0.0.1:${grpcPort}`,
      grpc.credentials.createInsecure(),
    );
    t.teardown(() => c.close());
    const call = (region: string) =>
      new Promise<any>((resolve, reject) =>
        c.Check(
          {
            request_id: `g-${region}`,
            region,
            buyer_zone: 'Z0-0',
            channel: 'checkout',
            items: [{ sku: 'G', qty: 1 }],
          },
          (err: Error | null, res: unknown) => (err ? reject(err) : resolve(res)),
        ),
      );
    const res = await call(ORIGIN);
    t.equal(res.decision, 'allow');
    t.same(res.degradations, ['region-failover']);
    t.equal(await left('G'), 0);
    const err = await call('us-east').catch((e: grpc.ServiceError) => e);
    t.equal(err.code, 9, 'FAILED_PRECONDITION (WRONG_REGION)');
    t.same(err.metadata.get('atp-error-field'), ['region']);
  },
);

t.test('--failover-for is validated naming the flag', async (t) => {
  const reg = defaultRegionRegistry();
  const url = 'redis://127.0.0.1:6379';
  t.same(parseFailoverFor(['eu-west', 'us-east'], HOLDER, reg, url), ['eu-west', 'us-east']);
  t.same(parseFailoverFor(undefined, HOLDER, reg, null), []);
  t.same(parseFailoverFor(['eu-west,us-east'], HOLDER, reg, url), ['eu-west', 'us-east'], 'a comma list');
  t.same(parseFailoverFor([''], HOLDER, reg, null), [], 'an empty value names none');
  const refuses = (raw: string[], redisUrl: string | null, msg: RegExp) =>
    t.throws(() => parseFailoverFor(raw, HOLDER, reg, redisUrl), { field: '--failover-for', message: msg });
  refuses(['eu_west'], url, /region name/);
  refuses(['eu-central'], url, /own region/);
  refuses(['ap-south'], url, /not in the region registry/);
  refuses(['eu-west', 'eu-west'], url, /twice/);
  refuses(['eu-west'], null, /needs --redis/);
});

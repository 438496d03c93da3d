/**
 * 10 000 generated malformed (and some well-formed) requests through the
 * filter in the emulator — bodies, headers, sizes, unicode, truncated JSON,
 * chunking — against a sidecar that answers, denies, fails, returns garbage
 * or never calls back. The filter must never trap, and every request must end
 * as a pass-through (off / shadow / bypass / allow) or a well-formed 4xx,
 * 409 or 503 — never a reset, never left paused, never two replies.
 */
import t from 'tap';
import {
  type ClusterHandler,
  DROP_CALLBACK,
  type HeaderPairs,
  type HttpStream,
} from '../../wasm-filter/emulator/index.js';
import {
  BASE_CONFIG,
  FakeClock,
  fakeSidecar,
  filterSnapshot,
  header,
  pullSnapshot,
  startFilter,
} from './helpers/filter-harness.js';

const REQUESTS = 10_000;
const SEED = 0x5eed;
/** How far the fake clock moves to let the tick answer a lost callback (timeout 25 + slack 30 + tick). */
const DEADLINE_STEP_MS = 100;
const FILTER_STATUSES = new Set([400, 409, 415, 503]);
/** The host's own answer when a held body passes its buffer limit. */
const HOST_TOO_LARGE = 413;

/** mulberry32: a small seeded PRNG, so a failure can be replayed. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
  const chance = (p: number) => next() < p;
  return { next, int, pick, chance };
}
type Rng = ReturnType<typeof prng>;

const ROUTES = { enforce: '/checkout', shadow: '/checkout/shadow', off: '/checkout/off' } as const;
const SKUS = [
  'SKU-1',
  'SKU-2',
  'OOS-3',
  'HELD-1',
  'KILLED-1',
  'a.b:c_d-e',
  'x'.repeat(128),
  'x'.repeat(129),
  '',
];
const UNICODE = [
  'Ä',
  '東京',
  '😀',
  '\u0000',
  '\u001f',
  '\\ud83d',
  '\\u00e9',
  '\\"',
  '\\\\',
  '\u2028',
  '\uffff',
];

function latin1Garbage(r: Rng, max: number): string {
  return Array.from({ length: r.int(max) }, () => String.fromCharCode(r.int(256))).join('');
}

function basket(r: Rng): unknown {
  const items = Array.from({ length: r.chance(0.05) ? 51 : 1 + r.int(4) }, () => {
    const item: Record<string, unknown> = {};
    if (!r.chance(0.03))
      item.sku = r.chance(0.05)
        ? r.pick([42, null, [], {}, true])
        : r.pick(SKUS) + (r.chance(0.1) ? r.pick(UNICODE) : '');
    if (!r.chance(0.03))
      item.qty = r.chance(0.1) ? r.pick([0, -1, 1.5, 1001, 1e300, '2', null]) : 1 + r.int(20);
    if (r.chance(0.1)) item.note = r.pick(UNICODE).repeat(r.int(50));
    return item;
  });
  const body: Record<string, unknown> = { items };
  if (!r.chance(0.1))
    body.buyer_zone = r.chance(0.1)
      ? r.pick(['', 'DE 10', '😀', 'Z'.repeat(40), 7])
      : r.pick(['DE-10', 'FR-75']);
  if (r.chance(0.2)) body.user = { id: 'u-1', address: r.pick(UNICODE) };
  return body;
}

function body(r: Rng): Buffer {
  const kind = r.int(10);
  const json = Buffer.from(JSON.stringify(basket(r)));
  switch (kind) {
    case 0: // truncated JSON
      return json.subarray(0, r.int(json.length));
    case 1: // random bytes
      return Buffer.from(Array.from({ length: r.int(300) }, () => r.int(256)));
    case 2: // raw unicode and escapes spliced into the JSON text
      return Buffer.from(json.toString().replace(/"(SKU|DE)/, `"${r.pick(UNICODE)}$1`));
    case 3: // deep nesting
      return Buffer.from(`{"items":${'['.repeat(r.int(200))}${r.chance(0.5) ? ']'.repeat(r.int(200)) : ''}}`);
    case 4: // odd numbers and literals
      return Buffer.from(
        `{"items":[{"sku":"SKU-1","qty":${r.pick(['1e3', '-0', '00', '1.', '.5', '9'.repeat(30), 'NaN', 'true', 'nul'])}}],"buyer_zone":"DE-10"}`,
      );
    case 5: // duplicate keys and trailing data
      return Buffer.from(
        `${json.toString()}${r.pick(['', ' x', '{}', ',', '\u0000'])}`.replace(
          '"items"',
          r.chance(0.5) ? '"items":[],"items"' : '"items"',
        ),
      );
    case 6: // too large
      return r.chance(0.2) ? Buffer.alloc(70_000 + r.int(10_000), 0x20) : json;
    default:
      return json;
  }
}

function headers(r: Rng, route: string, bodyBytes: Buffer): HeaderPairs {
  const pairs: HeaderPairs = [
    [':method', r.chance(0.88) ? 'POST' : r.pick(['GET', 'PUT', 'post', 'DELETE', ''])],
    [
      ':path',
      r.chance(0.9)
        ? route + r.pick(['', '?x=1', '/sub', '%00', '/😀'])
        : r.pick(['/', '/CHECKOUT', '', latin1Garbage(r, 30), '/cart']),
    ],
    [':authority', 'shop.example'],
  ];
  if (!r.chance(0.1))
    pairs.push([
      'content-type',
      r.chance(0.85)
        ? r.pick(['application/json', 'application/json; charset=utf-8'])
        : r.pick(['text/plain', 'application/jsonx', '', latin1Garbage(r, 20)]),
    ]);
  if (r.chance(0.9))
    pairs.push([
      'x-request-id',
      r.chance(0.8) ? `req-${r.int(1e6)}` : r.pick(['', 'bad id', 'x'.repeat(200), latin1Garbage(r, 40)]),
    ]);
  if (r.chance(0.3))
    pairs.push([
      'content-length',
      r.chance(0.7)
        ? String(bodyBytes.length)
        : r.pick(['abc', '-1', '99999999999999999999', '1e6', '65537', '']),
    ]);
  if (r.chance(0.2)) pairs.push(['x-atp-buyer-zone', r.chance(0.5) ? 'DE-10' : latin1Garbage(r, 40)]);
  if (r.chance(0.1))
    pairs.push(['x-atp-decision', 'allow'], ['x-atp-decision-id', 'forged'], ['x-atp-reason', 'forged']);
  for (let i = r.chance(0.1) ? r.int(60) : 0; i > 0; i--) pairs.push([`x-extra-${i}`, latin1Garbage(r, 50)]);
  if (r.chance(0.02)) pairs.push(['x-big', 'v'.repeat(8192)]);
  return pairs;
}

/** Sends the body in 1..5 chunks (or none: end of stream on the headers). */
function send(r: Rng, stream: HttpStream, pairs: HeaderPairs, bytes: Buffer): void {
  const noBody = bytes.length === 0 && r.chance(0.5);
  stream.requestHeaders(pairs, noBody);
  if (noBody) return;
  const chunks = 1 + r.int(5);
  let at = 0;
  for (let c = 1; c <= chunks; c++) {
    const end = c === chunks ? bytes.length : Math.min(bytes.length, at + r.int(bytes.length - at + 1));
    stream.requestBody(bytes.subarray(at, end), c === chunks);
    at = end;
  }
}

t.test(
  '10 000 malformed requests: no trap, and every answer is a pass-through or a well-formed reply',
  async (t) => {
    // The filter with one route per mode, a snapshot holding HELD-1 and killing KILLED-1, and a sidecar
    // that allows, denies, errs, returns garbage or loses the callback — chosen by a seeded PRNG.
    const r = prng(SEED);
    const clock = new FakeClock();
    const answers = prng(SEED + 1);
    const sidecar = fakeSidecar(() => ({
      decision: answers.chance(0.7) ? 'allow' : 'deny',
      unitsP10: answers.chance(0.5) ? [answers.int(100)] : undefined,
    }));
    sidecar.snapshot = filterSnapshot({
      held_skus: ['HELD-1'],
      killed_skus: ['KILLED-1'],
      routes: [
        { prefix: ROUTES.shadow, mode: 'shadow', rollout_pct: 100 },
        { prefix: ROUTES.off, mode: 'off', rollout_pct: 100 },
        { prefix: ROUTES.enforce, mode: 'enforce', rollout_pct: 100 },
      ],
    });
    const vm = await startFilter({
      now: clock.now,
      logLevel: 'critical',
      config: {
        ...BASE_CONFIG,
        routes: [
          { prefix: ROUTES.shadow, mode: 'shadow' },
          { prefix: ROUTES.off, mode: 'off' },
          { prefix: ROUTES.enforce, mode: 'enforce' },
        ],
      },
      sidecar: (call, signal): ReturnType<ClusterHandler> => {
        const roll = answers.next();
        if (call.headers.some(([k, v]) => k === ':method' && v === 'GET'))
          return sidecar.handler(call, signal);
        if (roll < 0.05) return { status: 500, body: 'boom' };
        if (roll < 0.1)
          return {
            status: 200,
            headers: { 'x-atp-decision': 'maybe', 'x-atp-decision-id': latin1Garbage(answers, 20) },
          };
        if (roll < 0.13) throw new Error('ECONNRESET');
        if (roll < 0.16) return DROP_CALLBACK;
        if (roll < 0.18)
          return {
            status: 200,
            headers: {
              'x-atp-decision': 'allow',
              'x-atp-decision-id': 'd-1',
              'x-atp-units-p10': latin1Garbage(answers, 30),
            },
          };
        return sidecar.handler(call, signal);
      },
    });
    t.teardown(() => vm.close());
    await pullSnapshot(vm, clock);

    const problems: string[] = [];
    const tally: Record<string, number> = {};
    for (let i = 0; i < REQUESTS; i++) {
      // Generate one request and send it.
      const mode = r.pick(['enforce', 'enforce', 'enforce', 'shadow', 'off'] as const);
      const bytes = body(r);
      const pairs = headers(r, ROUTES[mode], bytes);
      const stream = vm.newHttpStream();
      send(r, stream, pairs, bytes);

      // Let the sidecar answer; a lost callback is answered by the tick once its deadline passed.
      if (!stream.isSettled) await vm.idle();
      if (!stream.isSettled) {
        clock.advance(DEADLINE_STEP_MS);
        vm.tick();
      }

      // Classify the answer.
      const state = stream.state;
      const path = pairs.find(([k]) => k === ':path')?.[1] ?? '';
      const onRoute = path.startsWith('/checkout');
      const mayBlock = onRoute && !path.startsWith(ROUTES.shadow) && !path.startsWith(ROUTES.off);
      let verdict: string;
      if (state.kind === 'continued') {
        const decision = header(state.headers, 'x-atp-decision');
        verdict = `pass:${decision ?? 'untouched'}`;
        const allowed = !onRoute
          ? true
          : path.startsWith(ROUTES.shadow)
            ? decision === undefined || decision.startsWith('shadow-') || decision === 'bypass'
            : path.startsWith(ROUTES.off)
              ? decision === undefined
              : decision === undefined || decision === 'allow' || decision === 'bypass';
        if (!allowed) problems.push(`#${i} ${path}: continued with x-atp-decision ${decision}`);
      } else if (state.kind === 'local-reply') {
        verdict = `reply:${state.status}`;
        if (state.status === HOST_TOO_LARGE) {
          // the host's own buffer-limit answer: fine anywhere
        } else if (!FILTER_STATUSES.has(state.status) || !mayBlock) {
          problems.push(
            `#${i} ${path}: local reply ${state.status}${mayBlock ? '' : ' on a route that never blocks'}`,
          );
        } else {
          try {
            const json = JSON.parse(Buffer.from(state.body).toString('utf8')) as { error?: unknown };
            if (typeof json.error !== 'string') problems.push(`#${i}: reply without an error code`);
            if (header(state.headers, 'content-type') !== 'application/json')
              problems.push(`#${i}: reply not JSON`);
          } catch {
            problems.push(`#${i}: reply body is not JSON`);
          }
        }
      } else {
        verdict = state.kind;
        problems.push(`#${i} ${path}: ended ${state.kind}`);
      }
      if (stream.localReplyRequests > 1) problems.push(`#${i}: ${stream.localReplyRequests} local replies`);
      tally[verdict] = (tally[verdict] ?? 0) + 1;
      stream.end();
      if (problems.length > 20 || vm.traps.length > 0) break;
    }

    // No trap, no host error, no misclassified answer.
    t.same(vm.traps, [], 'no trap');
    t.same(vm.hostErrors, [], 'no host error');
    t.same(problems, [], 'every answer is a pass-through or a well-formed reply');
    t.comment(`answers: ${JSON.stringify(tally)}`);
    // The generator reached every kind of answer, so the classification above was exercised.
    for (const kind of [
      'pass:allow',
      'pass:bypass',
      'pass:untouched',
      'pass:shadow-deny',
      'reply:400',
      'reply:409',
      'reply:415',
      'reply:503',
    ]) {
      t.ok((tally[kind] ?? 0) > 0, `some answers were ${kind}`);
    }
  },
);

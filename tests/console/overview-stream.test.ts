/**
 * The overview's server side without a browser: a control plane given a
 * scrape target (here an HTTP server of the test serving an exposition whose
 * decision counter grows by 10 per scrape) streams one point per tick over
 * server-sent events to a bearer token, with the rate computed over the
 * target's own scrape interval; no token is a 401, a bad range a 400 naming range_s,
 * and a bad --scrape flag an error naming the flag.
 */
import { createServer } from 'node:http';
import t from 'tap';
import { createFakeControlPlane } from '../../control-plane/src/control-plane.js';
import { serveConfig } from '../../control-plane/src/main.js';
import { closeHttp, listenHttp } from '../../platform/src/servers.js';
import { TOKENS } from '../control-plane/helpers/control-world.js';

const STEP = 10;

t.test('points stream over SSE with rates from the target', async (t) => {
  let decisions = 0;
  const target = createServer((req, res) => {
    req.resume();
    if (req.url !== '/metrics') return void res.writeHead(404).end();
    decisions += STEP;
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`# TYPE atp_decisions_total counter\natp_decisions_total{channel="checkout"} ${decisions}\n`);
  });
  const port = await listenHttp(target, 0, '127.0.0.1');
  t.teardown(() => closeHttp(target));
  const cp = createFakeControlPlane({
    scrape: [`eu-west:other:http://127.0.0.1:${port}`],
    bootstrapTokens: [{ name: 'viewer-1', role: 'viewer', token: TOKENS.viewer }],
  });
  await cp.start();
  t.teardown(() => cp.stop());

  t.equal((await fetch(`${cp.url}/console/api/overview`)).status, 401, 'no token: 401');
  const bad = await fetch(`${cp.url}/console/api/overview?range_s=7`, {
    headers: { authorization: `Bearer ${TOKENS.viewer}` },
  });
  t.equal(bad.status, 400);
  t.match(((await bad.json()) as { error: { field: string } }).error.field, 'range_s');

  const ac = new AbortController();
  const res = await fetch(`${cp.url}/console/api/overview?range_s=60`, {
    headers: { authorization: `Bearer ${TOKENS.viewer}` },
    signal: ac.signal,
  });
  t.match(res.headers.get('content-type'), 'text/event-stream');
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const points: { at_ms: number; figures: Record<string, number> }[] = [];
  let buf = '';
  let backlog = false;
  while (points.length < 3) {
    const { value } = await reader.read();
    buf += value ?? '';
    for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      if (block.startsWith('event: backlog')) backlog = true;
      if (block.startsWith('event: point')) points.push(JSON.parse(block.split('data: ')[1]!));
    }
  }
  ac.abort();
  t.ok(backlog, 'the backlog comes first');
  const [a, b, c] = points as [(typeof points)[0], (typeof points)[0], (typeof points)[0]];
  for (const [p, q] of [
    [a, b],
    [b, c],
  ] as const) {
    // The rate is over the target's own scrape interval (answer to answer), close to the ticks' spacing.
    const expected = STEP / ((q.at_ms - p.at_ms) / 1_000);
    const rate = q.figures.decisions_per_s ?? -1;
    t.ok(rate > 0.75 * expected && rate < 1.25 * expected, `rate ${rate}/s, ticks say ${expected}/s`);
  }
  t.equal(
    (c.figures.decisions_total ?? 0) - (b.figures.decisions_total ?? 0),
    STEP,
    'decisions_total as scraped',
  );
});

t.test('a bad --scrape is refused naming the flag', async (t) => {
  t.throws(() => serveConfig({ scrape: ['eu-west:nope:http://x:1'] }, {}), /--scrape/);
});

/**
 * A stand-in for the sidecar's HTTP edge, run as its own process so a test
 * can SIGKILL or SIGSTOP it mid-traffic. POST /v1/check answers with the
 * decision summary headers (deny for SKUs starting OOS, allow otherwise) and
 * x-atp-units-p10 (1000 for SKUs starting WIDE, else 5); a request whose
 * request_id starts with "hold-" is never answered (it prints "held <id>"
 * instead), so the test knows those requests are paused at the sidecar.
 * GET /v1/filter-snapshot answers 404: the plugin configuration applies.
 * Prints "listening <port>" once ready.
 *
 *   node --import tsx tests/wasm-filter/helpers/sidecar-stand-in.ts
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const WIDE_UNITS = 1000;
const THIN_UNITS = 5;
let decisions = 0;

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    if (req.method !== 'POST' || req.url !== '/v1/check') {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"error":"not_found"}');
      return;
    }
    const request = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
      request_id: string;
      items: Array<{ sku: string }>;
    };
    if (request.request_id.startsWith('hold-')) {
      process.stdout.write(`held ${request.request_id}\n`);
      return;
    }
    const deny = request.items.some((i) => i.sku.startsWith('OOS'));
    res.writeHead(200, {
      'content-type': 'application/json',
      'x-atp-decision': deny ? 'deny' : 'allow',
      'x-atp-decision-id': `stand-in-${++decisions}`,
      'x-atp-degraded': '',
      'x-atp-rules-version': 'rules-1',
      'x-atp-model-version': 'gbt-1',
      'x-atp-units-p10': request.items
        .map((i) => (i.sku.startsWith('WIDE') ? WIDE_UNITS : THIN_UNITS))
        .join(','),
    });
    res.end(JSON.stringify({ decision: deny ? 'deny' : 'allow' }));
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`);
});

/**
 * The join's HTTP edge: `GET /metrics` (Prometheus), `GET /v1/evaluation`
 * (the report as JSON; `region` and `arm` narrow it, `confidence` sets the
 * interval level), `GET /v1/decisions/<id>/outcome` (one decision's items
 * and what became of them: outcome-lookup.ts), `GET /healthz`. Query parameters are validated at the edge
 * and refused with a 400 naming the parameter.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { AtpError, COMMON_ERR, errorBody, toAtpError } from '@mercato/platform/errors';
import { metricsExposition, type Registry } from '@mercato/platform/metrics';
import { closeHttp, listenHttp } from '@mercato/platform/servers';
import { parseRegionName } from '@mercato/proto/v1/regions';
import type { ContractError } from '@mercato/proto/v1/validate';
import { outcomeLookupToJson } from './join/outcome-lookup.js';
import type { SqliteJoinStore } from './join/sqlite-join-store.js';
import { buildReport, type ReportFilter } from './report/evaluation-report.js';

const ARM_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
const EXPERIMENTS_PATH = '/v1/experiments/';
const EXPERIMENT_ID_RE = /^[a-z0-9][a-z0-9-]{0,47}$/;
const DECISIONS_PATH = '/v1/decisions/';
const OUTCOME_SUFFIX = '/outcome';
/** The sidecar's decision-id alphabet (sidecar decision-routes.ts). */
const DECISION_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

export class EvaluationHttpServer {
  private readonly server: Server;
  port = 0;

  constructor(
    private readonly store: SqliteJoinStore,
    private readonly registry: Registry,
    /** An experiment's latest guardrail assessment (the monitor's), or undefined. */
    private readonly experiment: (id: string) => Record<string, unknown> | undefined = () => undefined,
  ) {
    this.server = createServer((req, res) => {
      void this.handle(req, res);
    });
  }

  async start(port: number, host: string): Promise<number> {
    this.port = await listenHttp(this.server, port, host);
    return this.port;
  }

  stop(): Promise<void> {
    return closeHttp(this.server);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (req.method !== 'GET')
        throw new AtpError(COMMON_ERR.NOT_FOUND, `${req.method} ${url.pathname}: only GET is served`);
      if (url.pathname === '/metrics') {
        const m = await metricsExposition(this.registry);
        res.writeHead(200, { 'content-type': m.contentType }).end(m.body);
      } else if (url.pathname === '/v1/evaluation') {
        const report = buildReport(this.store, parseFilter(url.searchParams));
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(report));
      } else if (url.pathname.startsWith(EXPERIMENTS_PATH)) {
        const id = url.pathname.slice(EXPERIMENTS_PATH.length);
        if (!EXPERIMENT_ID_RE.test(id))
          throw new AtpError(
            COMMON_ERR.INVALID_ARGUMENT,
            `id: expected an experiment id, got "${id.slice(0, 40)}"`,
            'id',
          );
        const a = this.experiment(id);
        if (a === undefined)
          throw new AtpError(
            COMMON_ERR.NOT_FOUND,
            `no assessment of experiment ${id} (is atp-evaluate run given --control-plane, and the experiment started?)`,
            'id',
          );
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(a));
      } else if (url.pathname.startsWith(DECISIONS_PATH) && url.pathname.endsWith(OUTCOME_SUFFIX)) {
        const body = decisionOutcomeOf(
          this.store,
          url.pathname.slice(DECISIONS_PATH.length, url.pathname.length - OUTCOME_SUFFIX.length),
        );
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      } else if (url.pathname === '/healthz') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      } else {
        throw new AtpError(COMMON_ERR.NOT_FOUND, `${url.pathname}: no such endpoint`);
      }
    } catch (err) {
      const e = toAtpError(err);
      res
        .writeHead(e.spec.httpStatus, { 'content-type': 'application/json' })
        .end(JSON.stringify(errorBody(e)));
    }
  }
}

/** What the store knows of one decision's outcome; errors name `decision_id`. */
function decisionOutcomeOf(store: SqliteJoinStore, raw: string): Record<string, unknown> {
  let id: string;
  try {
    id = decodeURIComponent(raw);
  } catch {
    id = '';
  }
  if (!DECISION_ID_RE.test(id))
    throw new AtpError(
      COMMON_ERR.INVALID_ARGUMENT,
      'decision_id: 1-128 of A-Z a-z 0-9 . _ : -',
      'decision_id',
    );
  const found = store.outcomes.lookup(id, store.watermarkMs());
  if (found === undefined)
    throw new AtpError(
      COMMON_ERR.NOT_FOUND,
      `decision ${id}: unknown to this join (not joined yet, of another region, or older than the last ${store.outcomes.maxRows} items kept)`,
      'decision_id',
    );
  return outcomeLookupToJson(found);
}

/** The query of GET /v1/evaluation, validated; errors name the parameter. */
export function parseFilter(q: URLSearchParams): ReportFilter {
  const out: ReportFilter = {};
  const region = q.get('region');
  if (region !== null && region !== '') {
    try {
      out.region = parseRegionName(region, 'region');
    } catch (err) {
      throw new AtpError(COMMON_ERR.INVALID_ARGUMENT, (err as ContractError).message, 'region');
    }
  }
  const arm = q.get('arm');
  if (arm !== null && arm !== '') {
    if (!ARM_RE.test(arm))
      throw new AtpError(
        COMMON_ERR.INVALID_ARGUMENT,
        `arm: expected an arm id, got "${arm.slice(0, 40)}"`,
        'arm',
      );
    out.arm = arm;
  }
  const confidence = q.get('confidence');
  if (confidence !== null && confidence !== '') {
    const c = Number(confidence);
    if (!(c > 0 && c < 1))
      throw new AtpError(
        COMMON_ERR.INVALID_ARGUMENT,
        `confidence: expected a number in (0, 1), got "${confidence.slice(0, 20)}"`,
        'confidence',
      );
    out.confidence = c;
  }
  return out;
}

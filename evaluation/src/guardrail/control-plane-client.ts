/**
 * What the guardrail monitor asks the control plane's admin API: the
 * experiments (GET /v1/experiments) and, when the guardrail fires, the stop
 * of one treatment arm (POST /v1/experiments/stop-arm), with an operator
 * token. The control plane audits the stop under the token's name with the
 * reason given (the statistic that fired). Responses are parsed with the
 * experiment contract; a refusal is an AtpError carrying the API's code.
 */
import { readFileSync } from 'node:fs';
import { AtpError, COMMON_ERR } from '@mercato/platform/errors';
import { type Experiment, parseExperiment } from '@mercato/proto/v1/experiment';
import { asObject, reqArray } from '@mercato/proto/v1/validate';

export const CONTROL_PLANE_TIMEOUT_MS = 5_000;

export interface ControlPlaneClientOptions {
  url: string;
  token: string;
  timeoutMs?: number;
}

/** The token of a --control-token-file (trimmed); an unreadable or empty file is refused naming the flag. */
export function readTokenFile(path: string, flag = '--control-token-file'): string {
  let token: string;
  try {
    token = readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new AtpError(COMMON_ERR.INVALID_ARGUMENT, `${flag}: ${(err as Error).message}`, flag);
  }
  if (token === '') throw new AtpError(COMMON_ERR.INVALID_ARGUMENT, `${flag}: the file is empty`, flag);
  return token;
}

export class ControlPlaneClient {
  constructor(private readonly opts: ControlPlaneClientOptions) {}

  async experiments(): Promise<Experiment[]> {
    const body = asObject(await this.call('GET', '/v1/experiments'), '$');
    return reqArray(body, 'experiments', '', 0, 10_000).map((e, i) =>
      parseExperiment(e, `experiments[${i}]`),
    );
  }

  async stopArm(id: string, arm: string, reason: string): Promise<void> {
    await this.call('POST', '/v1/experiments/stop-arm', { id, arm, reason });
  }

  private async call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    const res = await fetch(`${this.opts.url.replace(/\/+$/, '')}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.opts.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(this.opts.timeoutMs ?? CONTROL_PLANE_TIMEOUT_MS),
    });
    const text = await res.text();
    let json: unknown = null;
    try {
      json = JSON.parse(text);
    } catch {
      // Not JSON: reported below with the status.
    }
    if (!res.ok) {
      const err = (json as { error?: { code?: string; message?: string } } | null)?.error;
      throw new AtpError(
        res.status >= 500 ? COMMON_ERR.UNAVAILABLE : COMMON_ERR.INVALID_ARGUMENT,
        `control plane ${method} ${path}: ${res.status} ${err?.code ?? ''} ${err?.message ?? text.slice(0, 200)}`,
      );
    }
    return json;
  }
}

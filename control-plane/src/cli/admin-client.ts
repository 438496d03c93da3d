/**
 * atpctl's HTTP client of the admin API, over HTTPS when the URL says so:
 * the server certificate is checked against the system's CAs, or only
 * against `--ca <pem>` / ATP_CONTROL_CA when given (a private CA). Turns
 * every failure into an AtpError: the server's coded error body as sent
 * (code, message, field, hint), or UNAVAILABLE when the control plane
 * cannot be reached (a certificate that does not verify included: the
 * message says so).
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { AtpError, type ErrorSpec } from '@mercato/platform/errors';
import { ERR, specForCode } from '../errors.js';

export const DEFAULT_SERVER_URL = 'http://127.0.0.1:7070';
export const DEFAULT_TIMEOUT_MS = 30_000;

export interface AdminClientOptions {
  baseUrl: string;
  token: string | null;
  timeoutMs?: number;
  /** PEM of the CA that signed the server's certificate (https only); null: the system's CAs. */
  ca?: Buffer | null;
}

export class AdminClient {
  constructor(private readonly opts: AdminClientOptions) {}

  get baseUrl(): string {
    return this.opts.baseUrl;
  }

  async get<T = Record<string, unknown>>(path: string): Promise<T> {
    return parseJson<T>('GET', path, await this.request('GET', path));
  }

  async post<T = Record<string, unknown>>(path: string, body: unknown): Promise<T> {
    return parseJson<T>('POST', path, await this.request('POST', path, body));
  }

  /** A GET whose body is passed on chunk by chunk (NDJSON exports); errors as for get(). */
  async stream(path: string, onChunk: (text: string) => void): Promise<void> {
    const res = await this.open('GET', path);
    if ((res.statusCode ?? 500) >= 400) {
      parseJson('GET', path, { status: res.statusCode ?? 500, text: await readAll(res) });
      return;
    }
    res.setEncoding('utf8');
    for await (const chunk of res) onChunk(chunk as string);
  }

  private async request(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; text: string }> {
    const res = await this.open(method, path, body);
    return { status: res.statusCode ?? 500, text: await readAll(res) };
  }

  private open(method: string, path: string, body?: unknown): Promise<IncomingMessage> {
    const url = new URL(`${this.opts.baseUrl.replace(/\/+$/, '')}${path}`);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string | number> = {
      ...(this.opts.token === null ? {} : { authorization: `Bearer ${this.opts.token}` }),
      ...(payload === undefined
        ? {}
        : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
    };
    const secure = url.protocol === 'https:';
    if (!secure && url.protocol !== 'http:') {
      return Promise.reject(
        new AtpError(
          ERR.INVALID_FLAG,
          `--server: expected an http(s):// URL, got ${this.opts.baseUrl}`,
          '--server',
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const options = {
        method,
        headers,
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? DEFAULT_TIMEOUT_MS),
        ...(secure && this.opts.ca !== undefined && this.opts.ca !== null ? { ca: this.opts.ca } : {}),
      };
      const req = (secure ? httpsRequest : httpRequest)(url, options, resolve);
      req.on('error', (err) => reject(this.unreachable(err)));
      req.end(payload);
    });
  }

  private unreachable(err: unknown): AtpError {
    const e = err as { code?: string; message?: string; cause?: { code?: string } };
    const cause = e.code ?? e.cause?.code ?? e.message ?? String(err);
    const tls = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|HOSTNAME/.test(cause)
      ? '; the server certificate does not verify: pass its CA with --ca <pem> or ATP_CONTROL_CA'
      : '';
    return new AtpError(
      ERR.UNAVAILABLE,
      `cannot reach the control plane at ${this.opts.baseUrl} (${cause}${tls})`,
      undefined,
      { cause: err },
    );
  }
}

async function readAll(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson<T>(method: string, path: string, r: { status: number; text: string }): T {
  let json: unknown;
  try {
    json = r.text === '' ? {} : JSON.parse(r.text);
  } catch {
    throw new AtpError(
      ERR.UNAVAILABLE,
      `${method} ${path}: HTTP ${r.status}, not JSON: ${r.text.slice(0, 120)}`,
    );
  }
  if (r.status >= 200 && r.status < 300) return json as T;
  const e = (
    json as {
      error?: { code?: string; message?: string; field?: string; hint?: string; retriable?: boolean };
    }
  ).error;
  throw new AtpError(remoteSpec(r.status, e), e?.message ?? `HTTP ${r.status}`, e?.field);
}

/**
 * The spec of an error body the server sent: this registry's entry for a
 * known code (with the server's hint when it sent one, which may be more
 * specific), else one rebuilt from the body (a newer server's code).
 */
function remoteSpec(
  status: number,
  e: { code?: string; hint?: string; retriable?: boolean } | undefined,
): ErrorSpec {
  const known = e?.code === undefined ? undefined : specForCode(e.code);
  if (known !== undefined) return e?.hint === undefined ? known : { ...known, hint: e.hint };
  return {
    code: e?.code ?? ERR.INTERNAL.code,
    retriable: e?.retriable ?? status >= 500,
    httpStatus: status,
    grpcStatus: ERR.INTERNAL.grpcStatus,
    hint: e?.hint ?? ERR.INTERNAL.hint,
  };
}

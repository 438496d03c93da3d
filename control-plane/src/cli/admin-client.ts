/**
 * atpctl's HTTP client of the admin API. Turns every failure into a
 * ControlError: the server's coded error body as sent (code, message,
 * field, hint), or UNAVAILABLE when the control plane cannot be reached.
 */
import { ControlError, type ControlErrorSpec, ERR, specForCode } from '../errors.js';

export const DEFAULT_SERVER_URL = 'http://127.0.0.1:7070';
export const DEFAULT_TIMEOUT_MS = 30_000;

export interface AdminClientOptions {
  baseUrl: string;
  token: string | null;
  timeoutMs?: number;
}

export class AdminClient {
  constructor(private readonly opts: AdminClientOptions) {}

  get baseUrl(): string {
    return this.opts.baseUrl;
  }

  get<T = Record<string, unknown>>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  post<T = Record<string, unknown>>(path: string, body: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = `${this.opts.baseUrl.replace(/\/+$/, '')}${path}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: {
          ...(this.opts.token === null ? {} : { authorization: `Bearer ${this.opts.token}` }),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? DEFAULT_TIMEOUT_MS),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      throw new ControlError(
        ERR.UNAVAILABLE,
        `cannot reach the control plane at ${this.opts.baseUrl} (${cause})`,
      );
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text === '' ? {} : JSON.parse(text);
    } catch {
      throw new ControlError(
        ERR.UNAVAILABLE,
        `${method} ${path}: HTTP ${res.status}, not JSON: ${text.slice(0, 120)}`,
      );
    }
    if (res.ok) return json as T;
    const e = (
      json as {
        error?: { code?: string; message?: string; field?: string; hint?: string; retriable?: boolean };
      }
    ).error;
    const known = e?.code === undefined ? undefined : specForCode(e.code);
    const spec: ControlErrorSpec = known ?? {
      code: e?.code ?? ERR.INTERNAL.code,
      retriable: e?.retriable ?? res.status >= 500,
      httpStatus: res.status,
      grpcStatus: ERR.INTERNAL.grpcStatus,
      hint: e?.hint ?? ERR.INTERNAL.hint,
    };
    throw new ControlError(spec, e?.message ?? `HTTP ${res.status}`, e?.field);
  }
}

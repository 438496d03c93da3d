/**
 * The console's calls to the admin API. The token lives in this module's
 * memory only (no cookie, no storage) and goes out as a bearer header: a
 * cross-site page can neither read it nor make the browser send it.
 */

export type Role = 'viewer' | 'operator' | 'admin';

export interface Who {
  name: string;
  role: Role;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let token: string | null = null;

export function setToken(t: string | null): void {
  token = t;
}

async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'omit',
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const type = res.headers.get('content-type') ?? '';
  const json = type.includes('json') ? ((await res.json()) as Record<string, unknown>) : {};
  if (!res.ok) {
    const e = (json.error ?? {}) as { code?: string; message?: string };
    throw new ApiError(res.status, e.code ?? `HTTP_${res.status}`, e.message ?? res.statusText);
  }
  return json as T;
}

export const get = <T>(path: string): Promise<T> => call<T>('GET', path);
export const post = <T>(path: string, body: unknown): Promise<T> => call<T>('POST', path, body);

export function whoami(): Promise<Who> {
  return get<Who>('/console/api/whoami');
}

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** Whether `role` may pull a lever that needs `required` (the server decides anyway). */
export function allows(role: Role, required: Role): boolean {
  return RANK[role] >= RANK[required];
}

export interface KillSwitch {
  scope: 'global' | 'region' | 'route' | 'sku';
  target: string;
}

export interface Watcher {
  sidecar_id: string;
  claimed_sidecar_id: string | null;
  bound: boolean;
  sent_version: number | null;
  region: string;
  principal: string;
  connected_at_ms: number;
  version: number | null;
  applied: string;
  behind: number | null;
}

export interface Status {
  version: number;
  content_hash: string;
  published_at_ms: number | null;
  kill_switches: KillSwitch[];
  routes: { prefix: string; mode: string; rollout_pct: number }[];
  model: {
    active: string;
    previous?: string;
    staged?: { version: string; rollout_pct_by_region: Record<string, number> };
  };
  watchers: Watcher[];
  transport: string;
  store: string;
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  role: string | null;
  action: string;
  target: string;
  reason: string;
  outcome: string;
  code: string | null;
  snapshot_version: number | null;
}

export interface ModelRow {
  version: string;
  state: string;
  pushed_by: string;
  pushed_at_ms: number;
  size_bytes: number;
  key_id: string | null;
}

export interface Models {
  models: ModelRow[];
  history: { version: string; promoted_by: string; promoted_at_ms: number }[];
}

/** One point of the overview stream: a region's figures at one scrape tick. */
export interface Point {
  region: string;
  at_ms: number;
  figures: Record<string, number>;
  hot_skus: { sku: string; decisions: number; hot: number }[];
  targets_up: number;
  targets: number;
}

/**
 * Reads a server-sent event stream with fetch (EventSource cannot send the
 * bearer token) and calls `on(event, data)` per event until `signal` aborts.
 */
export async function streamEvents(
  path: string,
  on: (event: string, data: unknown) => void,
  signal: AbortSignal,
): Promise<void> {
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const res = await fetch(path, { headers, credentials: 'omit', signal });
  if (!res.ok || res.body === null) throw new ApiError(res.status, `HTTP_${res.status}`, res.statusText);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value;
    for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      let event = 'message';
      let data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data += line.slice(6);
      }
      if (data !== '') on(event, JSON.parse(data));
    }
  }
}

export interface Experiment {
  id: string;
  state: string;
  arms: { name: string }[];
}

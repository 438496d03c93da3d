/**
 * Test helpers for the control plane and its sidecar client: a fake control
 * plane (in-memory SQLite, free ports) with one token per role and a fresh
 * ed25519 signing key it trusts, cheap fake bundles (valid manifest, random
 * "model" bytes: enough for checksum and signature checks, not for
 * onnxruntime), signing, and a PostgreSQL database per test: a private
 * server (tests/helpers/postgres-server.ts) with a uniquely named schema.
 */

import { createHash, createPrivateKey, type KeyObject, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { Test } from 'tap';
import { runAtpctl } from '../../../control-plane/src/cli/atpctl.js';
import { type ControlPlane, createFakeControlPlane } from '../../../control-plane/src/control-plane.js';
import { generateSigningKeys, type SigningKeys, signManifest } from '../../../proto/v1/bundle-signature.js';
import { MANIFEST_FILE, MODEL_FILE, SIGNATURE_FILE } from '../../../proto/v1/model-manifest.js';
import { startPostgresServer } from '../../helpers/postgres-server.js';

export const TOKENS = {
  admin: 'test-admin-token-0123456789',
  operator: 'test-operator-token-0123456789',
  viewer: 'test-viewer-token-0123456789',
} as const;
/** Optional override: a PostgreSQL server to use instead of starting a private one. */
export const PG_URL_OVERRIDE = process.env.ATP_TEST_PG_URL;

/**
 * Open watch streams allowed to each bootstrap token of a test world: tests
 * run several sidecars on the one viewer token (a real deployment gives each
 * sidecar its own, capped at the server default of 4).
 */
export const TEST_TOKEN_MAX_STREAMS = 64;

/** The bootstrap tokens of a test world: one per role, named <role>-1. */
export function bootstrapTokens(): { name: string; role: string; token: string; maxStreams: number }[] {
  return Object.entries(TOKENS).map(([role, token]) => ({
    name: `${role}-1`,
    role,
    token,
    maxStreams: TEST_TOKEN_MAX_STREAMS,
  }));
}

export function tempDir(t: Test, prefix = 'atp-cp-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface ControlWorld {
  cp: ControlPlane;
  keys: SigningKeys;
  /** The public key that verifies this control plane's snapshots (what a sidecar trusts). */
  readonly snapshotKey: KeyObject;
  url: string;
  grpc: string;
  /** atpctl in process against this control plane; returns exit code and output. */
  atpctl(args: string[], token?: string | null): Promise<{ code: number; stdout: string; stderr: string }>;
  post(
    path: string,
    body: unknown,
    token?: string | null,
  ): Promise<{ status: number; json: Record<string, unknown> }>;
  get(path: string, token?: string | null): Promise<{ status: number; json: Record<string, unknown> }>;
}

export async function startControlWorld(
  t: Test,
  overrides: Record<string, unknown> = {},
): Promise<ControlWorld> {
  const keys = generateSigningKeys();
  const cp = createFakeControlPlane({
    bootstrapTokens: bootstrapTokens(),
    trustedKeysPem: [keys.publicPem],
    ...overrides,
  });
  await cp.start();
  t.teardown(() => cp.stop());
  return worldOf(cp, keys);
}

export function worldOf(cp: ControlPlane, keys: SigningKeys): ControlWorld {
  const headers = (token: string | null | undefined): Record<string, string> =>
    token === null || token === undefined ? {} : { authorization: `Bearer ${token}` };
  return {
    cp,
    keys,
    get snapshotKey() {
      return cp.signer.publicKey;
    },
    get url() {
      return cp.url;
    },
    get grpc() {
      return cp.grpcAddress;
    },
    async atpctl(args, token = TOKENS.admin) {
      let stdout = '';
      let stderr = '';
      const code = await runAtpctl(
        ['--server', cp.url, ...(token === null ? [] : ['--token', token]), ...args],
        {
          stdout: (s) => {
            stdout += s;
          },
          stderr: (s) => {
            stderr += s;
          },
          env: {},
        },
      );
      return { code, stdout, stderr };
    },
    async post(path, body, token = TOKENS.admin) {
      const res = await fetch(cp.url + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers(token) },
        body: JSON.stringify(body),
      });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    },
    async get(path, token = TOKENS.admin) {
      const res = await fetch(cp.url + path, { headers: headers(token) });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    },
  };
}

/** A manifest the contract parser accepts, for `model` bytes. */
export function fakeManifest(version: string, model: Buffer): Record<string, unknown> {
  return {
    schema: 'atp.model-bundle.v1',
    version,
    model_file: MODEL_FILE,
    model_sha256: createHash('sha256').update(model).digest('hex'),
    feature_names: ['qty', 'atp'],
    feature_schema_hash: 'test-schema',
    calibration: { method: 'none' },
    thresholds: {
      cost_ratio: 10,
      checkout: { hot: 0.9, cold: 0.85 },
      browse: { hot: 0.7, cold: 0.6 },
      stale_margin: 0.05,
      hot_sku_rate_per_min: 30,
    },
    metrics: {},
  };
}

/** Writes a fake bundle folder (signed with `keys` unless null). */
export function writeFakeBundle(dir: string, version: string, keys: SigningKeys | null): string {
  mkdirSync(dir, { recursive: true });
  const model = randomBytes(2048);
  writeFileSync(join(dir, MODEL_FILE), model);
  writeFileSync(join(dir, MANIFEST_FILE), JSON.stringify(fakeManifest(version, model)));
  if (keys !== null) signDir(dir, keys);
  return dir;
}

export function signDir(dir: string, keys: SigningKeys): void {
  const manifest = readFileSync(join(dir, MANIFEST_FILE));
  writeFileSync(join(dir, SIGNATURE_FILE), signManifest(manifest, createPrivateKey(keys.privatePem)));
}

/** The push body atpctl would send for a bundle folder. */
export function pushBody(dir: string, reason = 'test push'): Record<string, unknown> {
  let sig: string | undefined;
  try {
    sig = readFileSync(join(dir, SIGNATURE_FILE), 'utf8').trim();
  } catch {
    sig = undefined;
  }
  return {
    manifest_b64: readFileSync(join(dir, MANIFEST_FILE)).toString('base64'),
    model_b64: readFileSync(join(dir, MODEL_FILE)).toString('base64'),
    ...(sig === undefined ? {} : { signature_b64: sig }),
    reason,
  };
}

export interface TestPostgres {
  url: string;
  /** A fresh schema name, unique to this test. */
  schema: string;
}

/**
 * A PostgreSQL database for this test: a private server started for it and
 * stopped at teardown, or the server of ATP_TEST_PG_URL when set (then the
 * schema is dropped at teardown instead).
 */
export async function testPostgres(t: Test): Promise<TestPostgres> {
  const schema = `atp_cp_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  if (PG_URL_OVERRIDE === undefined || PG_URL_OVERRIDE === '') {
    const server = await startPostgresServer();
    t.teardown(() => server.stop());
    return { url: server.url, schema };
  }
  const url = PG_URL_OVERRIDE;
  t.teardown(async () => {
    const p = new pg.Pool({ connectionString: url, max: 1 });
    p.on('error', () => undefined);
    await p.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await p.end();
  });
  return { url, schema };
}

export { waitFor } from '../../helpers/wait-for.js';

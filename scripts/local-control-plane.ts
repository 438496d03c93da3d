/**
 * The control plane `npm start` embeds (see local-mesh.ts): SQLite in a
 * temp folder, bound to loopback (plaintext is allowed there only), one
 * token per role for the local user (admin, operator, viewer) plus the
 * sidecar's own watch token, and the committed model bundle pushed and
 * promoted, signed with a key generated for this run (the sidecar trusts
 * it), so the console's models page, the decision explorer and every lever
 * act on the running mesh. The temp folder (database, signing keys) is
 * removed on stop.
 */
import { createPrivateKey, type KeyObject, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readLocalBundle } from '../control-plane/src/cli/bundle-files.js';
import { validateControlPlaneConfig } from '../control-plane/src/config.js';
import { type ControlPlane, createControlPlane } from '../control-plane/src/control-plane.js';
import { generateSigningKeys, parsePublicKey, signManifest } from '../proto/v1/bundle-signature.js';
import type { ControlLinkConfig } from '../sidecar/src/control/control-link.js';
import { resolveBundleDir } from '../sidecar/src/model/model-bundle.js';

export const CONSOLE_ROLES = ['admin', 'operator', 'viewer'] as const;
export type ConsoleRole = (typeof CONSOLE_ROLES)[number];
/** Name of the sidecar's watch token (viewer role, bound to the sidecar id). */
export const LOCAL_SIDECAR_ID = 'local-sidecar-1';

export interface LocalControlPlane {
  cp: ControlPlane;
  /** Admin API / console base URL. */
  url: string;
  grpcAddress: string;
  /** Tokens for the local user, one per role. */
  tokens: Record<ConsoleRole, string>;
  sidecarToken: string;
  /** Public key trusted to sign model bundles (the sidecar verifies downloads with it). */
  bundleKey: KeyObject;
  /** The snapshot signing key's public half (a sidecar that verifies snapshots trusts it). */
  snapshotKey: KeyObject;
  /** Temp folder of this run (store, keys, the sidecar's state); removed on stop. */
  dir: string;
  /** The bundle pushed and promoted at start (null: none could be read). */
  modelVersion: string | null;
  stop(): Promise<void>;
}

const token = () => `atp-local-${randomBytes(18).toString('base64url')}`;

export async function startLocalControlPlane(opts: {
  httpPort: number;
  grpcPort: number;
  modelsDir: string;
  log: (line: string) => void;
}): Promise<LocalControlPlane> {
  const dir = mkdtempSync(join(tmpdir(), 'atp-local-control-'));
  const keys = generateSigningKeys();
  const tokens = { admin: token(), operator: token(), viewer: token() };
  const sidecarToken = token();
  const cp = createControlPlane(
    validateControlPlaneConfig({
      db: `sqlite:${join(dir, 'control-plane.db')}`,
      host: '127.0.0.1',
      httpPort: opts.httpPort,
      grpcPort: opts.grpcPort,
      stateDir: dir,
      trustedKeysPem: [keys.publicPem],
      bootstrapTokens: [
        ...CONSOLE_ROLES.map((role) => ({ name: `local-${role}`, role, token: tokens[role] })),
        { name: LOCAL_SIDECAR_ID, role: 'viewer', token: sidecarToken, sidecarId: LOCAL_SIDECAR_ID },
      ],
    }),
  );
  const cleanUp = () => rmSync(dir, { recursive: true, force: true });
  try {
    await cp.start();
  } catch (err) {
    await cp.stop().catch(() => undefined);
    cleanUp();
    throw err;
  }
  const modelVersion = await pushAndPromote(cp.url, tokens.admin, opts.modelsDir, keys.privatePem).catch(
    (err: Error) => {
      opts.log(
        `control plane: the committed bundle was not pushed (${err.message}); rules-only in the registry`,
      );
      return null;
    },
  );
  opts.log(`control plane: ${cp.url} (watch ${cp.grpcAddress}), store ${dir}`);
  let stopped: Promise<void> | null = null;
  return {
    cp,
    url: cp.url,
    grpcAddress: cp.grpcAddress,
    tokens,
    sidecarToken,
    bundleKey: parsePublicKey(keys.publicPem, 'local bundle key'),
    snapshotKey: cp.signer.publicKey,
    modelVersion,
    dir,
    stop() {
      stopped ??= cp.stop().finally(cleanUp);
      return stopped;
    },
  };
}

/** Pushes the bundle `modelsDir` names, signed with this run's key, and promotes it (as atpctl would). */
async function pushAndPromote(
  url: string,
  adminToken: string,
  modelsDir: string,
  privatePem: string,
): Promise<string> {
  const b = readLocalBundle(await resolveBundleDir(modelsDir));
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const json = (await res.json()) as { error?: { message?: string } };
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${json.error?.message ?? ''}`);
  };
  await post('/v1/models/push', {
    manifest_b64: b.manifest.toString('base64'),
    model_b64: b.model.toString('base64'),
    signature_b64: signManifest(b.manifest, createPrivateKey(privatePem)).trim(),
    reason: 'npm start: the committed bundle',
  });
  await post('/v1/models/promote', { version: b.version, reason: 'npm start: serve the committed bundle' });
  return b.version;
}

/**
 * The local sidecar's link to it: its bound viewer token, bundles downloaded
 * from the admin API and verified with this run's bundle key, snapshots
 * verified with the control plane's signing key, plaintext on loopback.
 */
export function localControlLink(c: LocalControlPlane, region: string): ControlLinkConfig {
  const stateDir = join(c.dir, 'sidecar-state');
  mkdirSync(stateDir, { recursive: true });
  return {
    region,
    sidecarId: LOCAL_SIDECAR_ID,
    grpcAddress: c.grpcAddress,
    httpUrl: c.url,
    modelsRoot: null,
    token: c.sidecarToken,
    stateDir,
    trustedKeys: [c.bundleKey],
    snapshotKeys: [c.snapshotKey],
    tls: null,
  };
}

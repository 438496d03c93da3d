/**
 * One object that links a sidecar to the control plane, so wiring it is a
 * few lines in sidecar.ts / main.ts:
 *
 *   const link = createControlLink(config, { control, models, logger });
 *   link.start();            // before the edges listen: applies the persisted snapshot first
 *   ...
 *   await link.stop();       // in stop()
 *
 * It runs the watch client (snapshot -> ControlState.setSnapshot, persisted
 * under `stateDir`) and the model rollout follower (bundles fetched from the
 * control plane into `stateDir/models`, verified against `trustedKeys`,
 * then loaded, activated, staged or released in the registry).
 * `parseControlLinkFlags(raw)` validates the CLI flags (errors name the flag).
 *
 * Trust (issue 16): every snapshot is verified with the control plane's
 * public key (`--control-snapshot-key`, required unless
 * `--control-insecure-unsigned-snapshots`); the watch stream and bundle
 * downloads use TLS with `--control-ca` (mTLS with `--control-cert` and
 * `--control-key`); the bearer token never goes in clear to a non-loopback
 * address unless `--control-insecure-plaintext` says so by name.
 */
import type { KeyObject } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { flagError } from '@mercato/platform/flags';
import { type Logger, silentLogger } from '@mercato/platform/logger';
import type { ControlSnapshot } from '@mercato/proto/v1/control-snapshot';
import type { Registry } from 'prom-client';
import type { ModelRegistry } from '../model/model-registry.js';
import { type BundleSource, DirBundleSource, HttpBundleSource } from './bundle-source.js';
import { loadTrustedKeys } from './bundle-verifier.js';
import { type ControlLinkMetrics, createControlLinkMetrics } from './control-link-metrics.js';
import { ControlWatchClient, type SnapshotSource } from './control-watch-client.js';
import { ModelRolloutFollower } from './model-rollout-follower.js';
import { SNAPSHOT_FILE_NAME, SnapshotPersistence } from './snapshot-persistence.js';

export const MODEL_CACHE_DIR = 'models';

export interface ControlLinkConfig {
  region: string;
  sidecarId: string;
  /** host:port of the control plane's watch stream. */
  grpcAddress: string;
  /** Admin API base URL (bundle downloads); null = bundles come from `modelsRoot`. */
  httpUrl: string | null;
  /** A shared models root (<root>/<version>/) instead of downloading. */
  modelsRoot: string | null;
  token: string;
  /** Holds control-snapshot.json and the bundle cache. */
  stateDir: string;
  trustedKeys: readonly KeyObject[];
  /** The control plane's snapshot public key(s); null = unsigned snapshots accepted (insecure flag). */
  snapshotKeys: readonly KeyObject[] | null;
  /** TLS to the control plane (watch stream and https bundle downloads); null = plaintext. */
  tls: ControlTls | null;
}

export interface ControlTls {
  /** PEM of the CA that signed the control plane's certificate. */
  ca: Buffer;
  /** Client certificate and key (mTLS); both or neither. */
  cert: Buffer | null;
  key: Buffer | null;
}

/** Raw flags as commander hands them (`--control-plane`, `--control-url`, ...). */
export interface RawControlLinkFlags {
  controlPlane?: string;
  controlUrl?: string;
  controlTokenFile?: string;
  controlToken?: string;
  stateDir?: string;
  trustedKey?: string[];
  modelsRoot?: string;
  sidecarId?: string;
  controlSnapshotKey?: string[];
  controlInsecureUnsignedSnapshots?: boolean;
  controlCa?: string;
  controlCert?: string;
  controlKey?: string;
  controlInsecurePlaintext?: boolean;
}

/** null when no --control-plane is given (the sidecar runs on its embedded default snapshot). */
export function parseControlLinkFlags(
  raw: RawControlLinkFlags,
  region: string,
  readFile: (p: string) => string,
): ControlLinkConfig | null {
  if (raw.controlPlane === undefined) return null;
  if (!/^[A-Za-z0-9.[\]:-]+:\d{1,5}$/.test(raw.controlPlane))
    throw flagError('--control-plane', 'expected host:port of the watch stream');
  let token = raw.controlToken;
  if (raw.controlTokenFile !== undefined) {
    try {
      token = readFile(raw.controlTokenFile).trim();
    } catch (err) {
      throw flagError('--control-token-file', (err as Error).message);
    }
  }
  if (token === undefined || token === '')
    throw flagError('--control-token-file', 'a viewer token is required with --control-plane');
  if (raw.controlUrl !== undefined && !/^https?:\/\//.test(raw.controlUrl))
    throw flagError('--control-url', 'expected http(s)://host:port');
  if (raw.controlUrl === undefined && raw.modelsRoot === undefined) {
    throw flagError(
      '--control-url',
      'bundles need a source: --control-url (download from the control plane) or --models-root',
    );
  }
  if (raw.stateDir === undefined)
    throw flagError('--state-dir', 'a folder for the last good snapshot and the bundle cache is required');
  let trustedKeys: KeyObject[];
  try {
    trustedKeys = loadTrustedKeys(raw.trustedKey ?? []);
  } catch (err) {
    throw flagError('--trusted-key', (err as Error).message);
  }
  if (trustedKeys.length === 0)
    throw flagError('--trusted-key', 'at least one bundle signing public key is required');
  const tls = parseControlTls(raw, readFile);
  checkPlaintext(raw, tls);
  return {
    region,
    sidecarId: raw.sidecarId ?? `${hostname()}-${process.pid}`,
    grpcAddress: raw.controlPlane,
    httpUrl: raw.controlUrl ?? null,
    modelsRoot: raw.modelsRoot ?? null,
    token,
    stateDir: raw.stateDir,
    trustedKeys,
    snapshotKeys: parseSnapshotKeys(raw),
    tls,
  };
}

function parseSnapshotKeys(raw: RawControlLinkFlags): KeyObject[] | null {
  const paths = raw.controlSnapshotKey ?? [];
  if (paths.length === 0) {
    if (raw.controlInsecureUnsignedSnapshots === true) return null;
    throw flagError(
      '--control-snapshot-key',
      "the control plane's snapshot public key (snapshot-signing.pub.pem) is required with --control-plane; " +
        '--control-insecure-unsigned-snapshots accepts unsigned snapshots (development only)',
    );
  }
  if (raw.controlInsecureUnsignedSnapshots === true)
    throw flagError('--control-insecure-unsigned-snapshots', 'contradicts --control-snapshot-key: give one');
  try {
    const keys = loadTrustedKeys(paths);
    if (keys.length === 0) throw new Error(`no *.pem key in ${paths.join(', ')}`);
    return keys;
  } catch (err) {
    throw flagError('--control-snapshot-key', (err as Error).message);
  }
}

function parseControlTls(raw: RawControlLinkFlags, readFile: (p: string) => string): ControlTls | null {
  if ((raw.controlCert === undefined) !== (raw.controlKey === undefined))
    throw flagError(
      raw.controlCert === undefined ? '--control-cert' : '--control-key',
      'give both or neither',
    );
  if (raw.controlCa === undefined) {
    if (raw.controlCert !== undefined) throw flagError('--control-ca', 'mTLS (--control-cert) needs the CA');
    return null;
  }
  const pem = (flag: string, path: string): Buffer => {
    let text: string;
    try {
      text = readFile(path);
    } catch (err) {
      throw flagError(flag, (err as Error).message);
    }
    if (!text.includes('-----BEGIN ')) throw flagError(flag, `${path} is not PEM`);
    return Buffer.from(text);
  };
  return {
    ca: pem('--control-ca', raw.controlCa),
    cert: raw.controlCert === undefined ? null : pem('--control-cert', raw.controlCert),
    key: raw.controlKey === undefined ? null : pem('--control-key', raw.controlKey),
  };
}

/** 127.0.0.0/8, ::1 and localhost: a token sent there does not cross a network. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Refuses to send the bearer token in clear beyond loopback unless --control-insecure-plaintext. */
function checkPlaintext(raw: RawControlLinkFlags, tls: ControlTls | null): void {
  if (raw.controlInsecurePlaintext === true) return;
  const watchHost = raw.controlPlane!.slice(0, raw.controlPlane!.lastIndexOf(':'));
  if (tls === null && !isLoopbackHost(watchHost)) {
    throw flagError(
      '--control-ca',
      `the watch stream to ${raw.controlPlane} would carry the bearer token in clear: give the control plane's CA ` +
        '(--control-ca), or --control-insecure-plaintext when something else encrypts the path (a mesh with mTLS)',
    );
  }
  if (raw.controlUrl?.startsWith('http://') === true && !isLoopbackHost(new URL(raw.controlUrl).hostname)) {
    throw flagError(
      '--control-url',
      `bundle downloads from ${raw.controlUrl} would carry the bearer token in clear: use https:// ` +
        '(with --control-ca), or --control-insecure-plaintext',
    );
  }
}

/** gRPC channel credentials for the watch stream. */
export function controlCredentials(tls: ControlTls | null): grpc.ChannelCredentials {
  if (tls === null) return grpc.credentials.createInsecure();
  return grpc.credentials.createSsl(tls.ca, tls.key, tls.cert);
}

export interface ControlLinkDeps {
  /** ControlState (or anything with setSnapshot). */
  control: { setSnapshot(s: ControlSnapshot): void };
  models: ModelRegistry;
  logger?: Logger;
  /** Extra listener for every applied snapshot (metrics, tests). */
  onSnapshot?: (s: ControlSnapshot, source: SnapshotSource) => void;
  /** The sidecar's metrics registry: refusals and discarded snapshots are counted there. */
  registry?: Registry;
}

export interface ControlLink {
  readonly watch: ControlWatchClient;
  readonly follower: ModelRolloutFollower;
  readonly persistence: SnapshotPersistence;
  start(): void;
  stop(): Promise<void>;
}

export function createControlLink(config: ControlLinkConfig, deps: ControlLinkDeps): ControlLink {
  const logger = deps.logger ?? silentLogger();
  const source: BundleSource =
    config.httpUrl !== null
      ? new HttpBundleSource({
          baseUrl: config.httpUrl,
          token: config.token,
          cacheDir: join(config.stateDir, MODEL_CACHE_DIR),
          trustedKeys: config.trustedKeys,
          ca: config.tls?.ca ?? null,
        })
      : new DirBundleSource(config.modelsRoot!);
  const follower = new ModelRolloutFollower({
    region: config.region,
    registry: deps.models,
    source,
    onEvent: (event, detail) => {
      if (event === 'model_refused')
        logger.error({ event, ...detail }, 'model bundle refused; the model in force keeps serving');
      else logger.info({ event, ...detail }, event);
    },
  });
  const persistence = new SnapshotPersistence(join(config.stateDir, SNAPSHOT_FILE_NAME));
  const metrics: ControlLinkMetrics | null =
    deps.registry === undefined ? null : createControlLinkMetrics(deps.registry);
  const watch = new ControlWatchClient({
    address: config.grpcAddress,
    snapshotKeys: config.snapshotKeys,
    credentials: controlCredentials(config.tls),
    onRefused: (code, src) => metrics?.refused(code, src),
    token: config.token,
    region: config.region,
    sidecarId: config.sidecarId,
    persistence,
    logger,
    onSnapshot: (s, src) => {
      deps.control.setSnapshot(s);
      follower.follow(s);
      deps.onSnapshot?.(s, src);
    },
  });
  return {
    watch,
    follower,
    persistence,
    start: () => watch.start(),
    async stop() {
      await watch.stop();
      await follower.stop();
    },
  };
}

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
 */
import type { KeyObject } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { flagError } from '@mercato/platform/flags';
import { type Logger, silentLogger } from '@mercato/platform/logger';
import type { ControlSnapshot } from '@mercato/proto/v1/control-snapshot';
import type { ModelRegistry } from '../model/model-registry.js';
import { type BundleSource, DirBundleSource, HttpBundleSource } from './bundle-source.js';
import { loadTrustedKeys } from './bundle-verifier.js';
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
  return {
    region,
    sidecarId: raw.sidecarId ?? `${hostname()}-${process.pid}`,
    grpcAddress: raw.controlPlane,
    httpUrl: raw.controlUrl ?? null,
    modelsRoot: raw.modelsRoot ?? null,
    token,
    stateDir: raw.stateDir,
    trustedKeys,
  };
}

export interface ControlLinkDeps {
  /** ControlState (or anything with setSnapshot). */
  control: { setSnapshot(s: ControlSnapshot): void };
  models: ModelRegistry;
  logger?: Logger;
  /** Extra listener for every applied snapshot (metrics, tests). */
  onSnapshot?: (s: ControlSnapshot, source: SnapshotSource) => void;
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
  const watch = new ControlWatchClient({
    address: config.grpcAddress,
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

/**
 * Where the sidecar gets a model bundle's bytes, by version:
 *
 * - HttpBundleSource (the default with a control plane): downloads
 *   `GET <control>/v1/models/<version>/{manifest.json,manifest.sig,<model_file>}`
 *   into a temp folder beside the cache, verifies it there (verifyBundleDir:
 *   signature by a trusted key, sha256), and only then renames it to
 *   `<cacheDir>/<version>/`. The sidecar trusts the signature, not the
 *   control plane: a tampered store or a man in the middle gets a refusal.
 *   A cached folder is verified again before each use.
 * - DirBundleSource: a shared models root (`<root>/<version>/`), e.g. a
 *   volume in the local mesh; the registry's verifier checks it on load.
 */
import type { KeyObject } from 'node:crypto';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { AtpError } from '@mercato/platform/errors';
import { MANIFEST_FILE, SIGNATURE_FILE } from '@mercato/proto/v1/model-manifest';
import { ERR } from '../errors.js';
import { verifyBundleDir } from './bundle-verifier.js';
import { CONTROL_ERR } from './control-errors.js';

export const BUNDLE_FETCH_TIMEOUT_MS = 30_000;
/** Same rule as the control plane's: versions are plain folder names. */
const VERSION_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export interface BundleSource {
  /** A local folder holding bundle `version`, verified where this source promises it. Throws a coded AtpError. */
  dirFor(version: string): Promise<string>;
  /** The version is no longer loaded: a cache may drop its copy (a later dirFor fetches it again). */
  forget?(version: string): Promise<void>;
}

export function checkVersionName(version: string): void {
  if (!VERSION_RE.test(version)) {
    throw new AtpError(
      ERR.MODEL_NOT_FOUND,
      `"${version.slice(0, 40)}" is not a model version name`,
      'model.active',
    );
  }
}

export class DirBundleSource implements BundleSource {
  constructor(private readonly root: string) {}

  async dirFor(version: string): Promise<string> {
    checkVersionName(version);
    return join(this.root, version);
  }
}

export interface HttpBundleSourceOptions {
  /** Control plane admin API, e.g. http://127.0.0.1:7070. */
  baseUrl: string;
  /** Bearer token (viewer or above). */
  token: string;
  cacheDir: string;
  trustedKeys: readonly KeyObject[];
  fetchTimeoutMs?: number;
  /** CA of the control plane's certificate for an https:// baseUrl (`--control-ca`); null: the system CAs. */
  ca?: Buffer | null;
}

export class HttpBundleSource implements BundleSource {
  private seq = 0;
  private readonly inflight = new Map<string, Promise<string>>();

  constructor(private readonly opts: HttpBundleSourceOptions) {}

  dirFor(version: string): Promise<string> {
    try {
      checkVersionName(version);
    } catch (err) {
      return Promise.reject(err);
    }
    let p = this.inflight.get(version);
    if (p === undefined) {
      p = this.fetchVerified(version).finally(() => this.inflight.delete(version));
      this.inflight.set(version, p);
    }
    return p;
  }

  async forget(version: string): Promise<void> {
    if (!VERSION_RE.test(version) || this.inflight.has(version)) return;
    await rm(join(this.opts.cacheDir, version), { recursive: true, force: true }).catch(() => undefined);
  }

  private async fetchVerified(version: string): Promise<string> {
    const dir = join(this.opts.cacheDir, version);
    if (await exists(dir)) {
      try {
        await verifyBundleDir(dir, this.opts.trustedKeys);
        return dir;
      } catch {
        // A cached copy that no longer verifies (disk corruption, someone edited it): fetch it again.
        await rm(dir, { recursive: true, force: true });
      }
    }
    const tmp = join(this.opts.cacheDir, `.tmp-${version}-${process.pid}-${++this.seq}`);
    await mkdir(tmp, { recursive: true });
    try {
      const manifest = await this.get(version, MANIFEST_FILE, true);
      await writeFile(join(tmp, MANIFEST_FILE), manifest!);
      const sig = await this.get(version, SIGNATURE_FILE, false);
      if (sig !== null) await writeFile(join(tmp, SIGNATURE_FILE), sig);
      let modelFile: string;
      try {
        modelFile = String(
          (JSON.parse(manifest!.toString('utf8')) as { model_file?: unknown }).model_file ?? '',
        );
      } catch {
        modelFile = '';
      }
      if (VERSION_RE.test(modelFile)) {
        const model = await this.get(version, modelFile, true);
        await writeFile(join(tmp, modelFile), model!);
      }
      // Refuses before anything enters the cache.
      await verifyBundleDir(tmp, this.opts.trustedKeys);
      await rm(dir, { recursive: true, force: true });
      await rename(tmp, dir);
      return dir;
    } finally {
      await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  /** One file; null for an optional file the control plane does not have (404). */
  private async get(version: string, file: string, required: boolean): Promise<Buffer | null> {
    const url = `${this.opts.baseUrl}/v1/models/${encodeURIComponent(version)}/${encodeURIComponent(file)}`;
    let res: { status: number; body: Buffer };
    try {
      res = await getBytes(
        url,
        this.opts.token,
        this.opts.fetchTimeoutMs ?? BUNDLE_FETCH_TIMEOUT_MS,
        this.opts.ca,
      );
    } catch (err) {
      throw new AtpError(CONTROL_ERR.BUNDLE_FETCH_FAILED, `GET ${url}: ${(err as Error).message}`);
    }
    if (res.status === 404 && !required) return null;
    if (res.status === 404) {
      throw new AtpError(ERR.MODEL_NOT_FOUND, `the control plane has no ${file} for model ${version}`);
    }
    if (res.status !== 200) {
      throw new AtpError(
        CONTROL_ERR.BUNDLE_FETCH_FAILED,
        `GET ${url}: HTTP ${res.status} ${res.body.toString('utf8').slice(0, 200)}`,
      );
    }
    return res.body;
  }
}

/** One GET with the bearer token, over https with `ca` when the URL says https. */
function getBytes(
  url: string,
  token: string,
  timeoutMs: number,
  ca: Buffer | null | undefined,
): Promise<{ status: number; body: Buffer }> {
  const secure = url.startsWith('https:');
  const options = {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(timeoutMs),
    ...(secure && ca !== null && ca !== undefined ? { ca } : {}),
  };
  return new Promise((resolve, reject) => {
    const req = (secure ? httpsRequest : httpRequest)(url, options, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/**
 * The model rollout follower drives the registry from control snapshots:
 * activates `model.active` (or a region's 100 % staged model), loads a
 * partially staged model beside it and splits requests stably, keeps
 * `previous` warm for rollback, releases the rest; a refused bundle leaves
 * the model in force serving. Bundles come from the control plane over
 * HTTP, verified before they enter the cache.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { AtpError } from '../../../platform/src/errors.js';
import { parsePublicKey } from '../../../proto/v1/bundle-signature.js';
import { type ControlSnapshot, defaultControlSnapshot } from '../../../proto/v1/control-snapshot.js';
import { SIGNATURE_FILE } from '../../../proto/v1/model-manifest.js';
import { type BundleSource, HttpBundleSource } from '../../../sidecar/src/control/bundle-source.js';
import {
  type FollowedRegistry,
  ModelRolloutFollower,
} from '../../../sidecar/src/control/model-rollout-follower.js';
import { ERR } from '../../../sidecar/src/errors.js';
import type { LoadedModel } from '../../../sidecar/src/model/model-registry.js';
import {
  pushBody,
  startControlWorld,
  TOKENS,
  tempDir,
  writeFakeBundle,
} from '../../control-plane/helpers/control-world.js';

/** Registry double: "loading" dir <root>/<v> yields version v; versions in `refuse` throw. */
class FakeRegistry implements FollowedRegistry {
  loaded = new Map<string, LoadedModel>();
  activeVersion: string | null = null;
  loads: string[] = [];
  released: string[] = [];
  refuse = new Set<string>();
  async load(dir: string): Promise<LoadedModel> {
    const v = dir.split('/').pop()!;
    this.loads.push(v);
    if (this.refuse.has(v))
      throw new AtpError(ERR.MODEL_SIGNATURE_INVALID, `bundle ${v} is unsigned`, 'manifest.sig');
    const m = { version: v } as LoadedModel;
    this.loaded.set(v, m);
    return m;
  }
  activate(v: string): void {
    if (!this.loaded.has(v)) throw new Error(`not loaded ${v}`);
    this.activeVersion = v;
  }
  async release(v: string): Promise<void> {
    this.loaded.delete(v);
    this.released.push(v);
    if (this.activeVersion === v) this.activeVersion = null;
  }
  get(v: string): LoadedModel | null {
    return this.loaded.get(v) ?? null;
  }
  versions(): string[] {
    return [...this.loaded.keys()];
  }
  get active(): LoadedModel | null {
    return this.activeVersion === null ? null : this.loaded.get(this.activeVersion)!;
  }
}

const source: BundleSource = { dirFor: async (v) => `/models/${v}` };
const snap = (version: number, model: ControlSnapshot['model']): ControlSnapshot => ({
  ...defaultControlSnapshot('x'),
  version,
  model,
});

function follower(reg: FakeRegistry, events: string[] = []) {
  return new ModelRolloutFollower({
    region: 'eu-west',
    registry: reg,
    source,
    onEvent: (e, d) => events.push(`${e}:${String(d.version)}`),
  });
}

t.test('activates the active model, keeps the previous one warm, releases the rest', async (t) => {
  const reg = new FakeRegistry();
  const f = follower(reg);
  f.follow(snap(1, { active: 'm1' }));
  await f.idle();
  t.equal(reg.activeVersion, 'm1');
  f.follow(snap(2, { active: 'm2', previous: 'm1' }));
  await f.idle();
  t.equal(reg.activeVersion, 'm2');
  t.same(reg.versions().sort(), ['m1', 'm2'], 'previous stays loaded');
  f.follow(snap(3, { active: 'm1' }));
  await f.idle();
  t.equal(reg.activeVersion, 'm1', 'rollback is an activation');
  t.same(reg.loads, ['m1', 'm2'], 'no reload for the rollback');
  t.same(reg.versions(), ['m1']);
  t.same(reg.released, ['m2']);
});

t.test('a refused bundle leaves the model in force serving, reported with its code', async (t) => {
  const reg = new FakeRegistry();
  const events: string[] = [];
  const f = follower(reg, events);
  f.follow(snap(1, { active: 'm1' }));
  await f.idle();
  reg.refuse.add('bad');
  f.follow(snap(2, { active: 'bad', previous: 'm1' }));
  await f.idle();
  t.equal(reg.activeVersion, 'm1');
  t.ok(events.includes('model_refused:bad'));
  t.same(
    f.status().refused.map((r) => [r.version, r.code]),
    [['bad', 'ATP_ERR_MODEL_SIGNATURE_INVALID']],
  );
  f.follow(snap(3, { active: 'bad', previous: 'm1' }));
  await f.idle();
  t.equal(reg.loads.filter((v) => v === 'bad').length, 1, 'not retried on every snapshot');
  await f.stop();
});

t.test(
  'staged per region: partial share split per request, 100 % becomes the active model here',
  async (t) => {
    const reg = new FakeRegistry();
    const f = follower(reg);
    f.follow(
      snap(1, {
        active: 'm1',
        staged: { version: 'm2', rolloutPctByRegion: { 'eu-west': 20, 'us-east': 100 } },
      }),
    );
    await f.idle();
    t.equal(reg.activeVersion, 'm1', 'eu-west is at 20 %: m1 stays active');
    t.same(f.status().staged, { version: 'm2', pct: 20 });
    let staged = 0;
    for (let i = 0; i < 10_000; i++) if (f.modelFor(`req-${i}`) === 'm2') staged++;
    t.ok(staged > 1_700 && staged < 2_300, `about 20 % of requests get m2 (${staged / 100} %)`);
    t.equal(f.modelFor('req-42'), f.modelFor('req-42'), 'stable per request id');
    f.follow(snap(2, { active: 'm1', staged: { version: 'm2', rolloutPctByRegion: { 'eu-west': 100 } } }));
    await f.idle();
    t.equal(reg.activeVersion, 'm2', 'at 100 % here the staged model is active');
    t.equal(f.modelFor('req-1'), null);
    f.follow(snap(3, { active: 'm1', staged: { version: 'm2', rolloutPctByRegion: { 'us-east': 50 } } }));
    await f.idle();
    t.equal(reg.activeVersion, 'm1', 'not staged here any more');
    t.same(reg.versions(), ['m1']);
  },
);

t.test('"rules-only" (nothing promoted) leaves a locally loaded model alone', async (t) => {
  const reg = new FakeRegistry();
  await reg.load('/models/local');
  reg.activate('local');
  const f = follower(reg);
  f.follow(snap(1, { active: 'rules-only' }));
  await f.idle();
  t.equal(reg.activeVersion, 'local');
});

t.test(
  'HTTP bundle source: downloads, verifies, caches; tampered or unsigned bundles never enter the cache',
  async (t) => {
    const w = await startControlWorld(t);
    const dir = tempDir(t);
    const good = writeFakeBundle(join(dir, 'good'), 'good-1', w.keys);
    t.equal((await w.post('/v1/models/push', pushBody(good), TOKENS.admin)).status, 200);
    const cache = join(dir, 'cache');
    const src = new HttpBundleSource({
      baseUrl: w.url,
      token: TOKENS.viewer,
      cacheDir: cache,
      trustedKeys: [parsePublicKey(w.keys.publicPem, 't')],
    });
    const got = await src.dirFor('good-1');
    t.equal(got, join(cache, 'good-1'));
    t.ok(readFileSync(join(got, 'model.onnx')).equals(readFileSync(join(good, 'model.onnx'))));
    t.equal(await src.dirFor('good-1'), got, 'served from the cache');

    // A compromised control plane store: the model bytes change after the push was verified.
    await w.cp.store.write(async (tx) => {
      const files = (await tx.models.files('good-1'))!;
      await tx.models.insert(
        {
          version: 'evil-1',
          modelFile: 'model.onnx',
          modelSha256: 'x',
          keyId: null,
          sizeBytes: 4,
          pushedBy: 'mallory',
          pushedAtMs: 0,
        },
        { manifest: files.manifest, signature: files.signature, model: Buffer.from('evil') },
      );
      await tx.models.insert(
        {
          version: 'nosig-1',
          modelFile: 'model.onnx',
          modelSha256: 'x',
          keyId: null,
          sizeBytes: 4,
          pushedBy: 'mallory',
          pushedAtMs: 0,
        },
        { manifest: files.manifest, signature: null, model: files.model },
      );
    });
    // The control plane verifies what it serves: the tampered rows are refused at the source.
    for (const v of ['evil-1', 'nosig-1']) {
      const refused = (await src.dirFor(v).catch((e: unknown) => e)) as { code: string; message: string };
      t.equal(refused.code, 'ATP_ERR_BUNDLE_FETCH_FAILED', `${v}: the control plane refuses to serve it`);
      t.match(refused.message, /HTTP 5\d\d|HTTP 4\d\d/);
    }

    // A man in the middle (or a control plane compromised past its own checks) serving good-1's
    // signed manifest with other model bytes, or without the signature: the sidecar's own
    // verification refuses both before anything enters its cache.
    const mitm = await startMitm(w.url, (path) => {
      if (path === '/v1/models/evil-1/model.onnx') return { status: 200, body: Buffer.from('evil') };
      if (path === `/v1/models/nosig-1/${SIGNATURE_FILE}`) return { status: 404, body: Buffer.from('{}') };
      return { rewrite: path.replace(/^\/v1\/models\/(evil-1|nosig-1)\//, '/v1/models/good-1/') };
    });
    t.teardown(() => new Promise<void>((r) => mitm.close(() => r())));
    const viaMitm = new HttpBundleSource({
      baseUrl: `http://127.0.0.1:${(mitm.address() as AddressInfo).port}`,
      token: TOKENS.viewer,
      cacheDir: cache,
      trustedKeys: [parsePublicKey(w.keys.publicPem, 't')],
    });
    const evil = (await viaMitm.dirFor('evil-1').catch((e: unknown) => e)) as { code: string };
    t.equal(evil.code, 'ATP_ERR_MODEL_CHECKSUM_MISMATCH');
    const nosig = (await viaMitm.dirFor('nosig-1').catch((e: unknown) => e)) as { code: string };
    t.equal(nosig.code, 'ATP_ERR_MODEL_SIGNATURE_INVALID');
    const missing = (await src.dirFor('ghost').catch((e: unknown) => e)) as { code: string };
    t.equal(missing.code, 'ATP_ERR_MODEL_NOT_FOUND');
    const { readdirSync } = await import('node:fs');
    t.same(readdirSync(cache), ['good-1'], 'only the verified bundle is cached');

    // A cached copy edited on disk is not trusted: fetched again.
    writeFileSync(join(got, 'model.onnx'), 'rot');
    const again = await src.dirFor('good-1');
    t.ok(readFileSync(join(again, 'model.onnx')).equals(readFileSync(join(good, 'model.onnx'))));
    const bad = (await src.dirFor('../etc').catch((e: unknown) => e)) as { code: string };
    t.equal(bad.code, 'ATP_ERR_MODEL_NOT_FOUND', 'a version is never a path');
  },
);

type MitmAnswer = { status: number; body: Buffer } | { rewrite: string };

/** An HTTP proxy in front of `upstream` that answers some paths itself and rewrites others. */
async function startMitm(upstream: string, answer: (path: string) => MitmAnswer): Promise<Server> {
  const server = createServer((req, res) => {
    const a = answer(req.url ?? '/');
    if ('status' in a) {
      res.writeHead(a.status).end(a.body);
      return;
    }
    fetch(`${upstream}${a.rewrite}`, { headers: { authorization: req.headers.authorization ?? '' } })
      .then(async (up) => res.writeHead(up.status).end(Buffer.from(await up.arrayBuffer())))
      .catch(() => res.writeHead(502).end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return server;
}

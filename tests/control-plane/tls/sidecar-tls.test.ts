/**
 * Finding 2 (issue 16), the sidecar's side. Reproduced first: the sidecar's
 * watch client only spoke plaintext and sent its bearer token to whatever
 * answered (a fake server got it). Now `serve --control-ca` makes the watch
 * stream and the bundle downloads TLS (`--control-cert/--control-key`:
 * mTLS, for a control plane with --tls-client-ca); a server whose
 * certificate does not verify never sees the token; and the flags refuse a
 * plaintext token beyond loopback unless --control-insecure-plaintext says
 * so (tests/sidecar/control/control-link-flags.test.ts).
 * Certificates are made on the fly (tests/helpers/tls-certs.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { defaultControlSnapshot } from '../../../proto/v1/control-snapshot.js';
import { HttpBundleSource } from '../../../sidecar/src/control/bundle-source.js';
import { parseControlLinkFlags } from '../../../sidecar/src/control/control-link.js';
import { worldSidecar } from '../../helpers/sidecar-world.js';
import { makeTestPki } from '../../helpers/tls-certs.js';
import { rogueFullEvent, startRogueWatchServer } from '../../sidecar/control/rogue-watch-server.js';
import {
  type ControlWorld,
  startControlWorld,
  TOKENS,
  tempDir,
  waitFor,
  writeFakeBundle,
} from '../helpers/control-world.js';

/** The files a sidecar pod mounts: token, snapshot key, bundle key. */
function sidecarFiles(
  dir: string,
  w: ControlWorld,
): { token: string; snapshotKey: string; bundleKey: string } {
  const token = join(dir, 'token');
  writeFileSync(token, TOKENS.viewer);
  const snapshotKey = join(dir, 'snapshot.pub.pem');
  writeFileSync(snapshotKey, w.snapshotKey.export({ type: 'spki', format: 'pem' }));
  const bundleKey = join(dir, 'bundles.pub.pem');
  writeFileSync(bundleKey, w.keys.publicPem);
  return { token, snapshotKey, bundleKey };
}

t.test(
  'finding 2: the sidecar watches over mTLS and downloads bundles over https, from its flags',
  async (t) => {
    const dir = tempDir(t);
    const pki = makeTestPki(join(dir, 'pki'));
    const w = await startControlWorld(t, {
      tlsCert: pki.server.certPath,
      tlsKey: pki.server.keyPath,
      tlsClientCa: pki.clientCa.certPath,
    });
    const f = sidecarFiles(dir, w);
    const cert = pki.client('sidecar-tls-1');
    const flags = {
      controlPlane: w.grpc,
      controlUrl: w.url,
      controlTokenFile: f.token,
      stateDir: join(dir, 'state'),
      trustedKey: [f.bundleKey],
      controlSnapshotKey: [f.snapshotKey],
      controlCa: pki.ca.certPath,
      sidecarId: 'sidecar-tls-1',
    };
    const read = (p: string) => readFileSync(p, 'utf8');
    const mtls = parseControlLinkFlags(
      { ...flags, controlCert: cert.certPath, controlKey: cert.keyPath },
      'eu-west',
      read,
    );
    const sc = worldSidecar({ controlLink: mtls! });
    await sc.start();
    t.teardown(() => sc.stop());
    await sc.link!.watch.waitForVersion(1, 10_000);
    const ca = ['--ca', pki.ca.certPath];
    const set = await w.atpctl(
      [...ca, 'killswitch', 'set', '--scope', 'sku:S-TLS', '--reason', 'over TLS'],
      TOKENS.operator,
    );
    t.equal(set.code, 0, set.stderr);
    await sc.link!.watch.waitForVersion(2, 10_000);
    t.equal(sc.control.skuKilled('S-TLS'), 'over TLS', 'a change reached the sidecar over mTLS');
    type Status = { transport: string; watchers: { tls_peer: string | null; version: number | null }[] };
    const status = async (): Promise<Status> =>
      JSON.parse((await w.atpctl([...ca, '--json', 'status'], TOKENS.viewer)).stdout) as Status;
    await waitFor(async () => (await status()).watchers[0]?.version === 2, 5_000, 'the ack over mTLS');
    const st = await status();
    t.equal(st.transport, 'mtls');
    t.equal(st.watchers[0]?.tls_peer, 'sidecar-tls-1', 'its certificate subject is listed');

    // Without its client certificate the same sidecar gets nothing from an mTLS control plane.
    const noCert = worldSidecar({
      controlLink: parseControlLinkFlags({ ...flags, stateDir: join(dir, 'state-2') }, 'eu-west', read)!,
    });
    await noCert.start();
    t.teardown(() => noCert.stop());
    await waitFor(() => noCert.link!.watch.stats.reconnects >= 1, 10_000, 'refused');
    t.equal(noCert.link!.watch.stats.version, 0);

    // Bundle downloads: https with the same CA.
    const bundle = writeFakeBundle(join(dir, 'b1'), 'm-tls-1', w.keys);
    const push = await w.atpctl([...ca, 'model', 'push', bundle, '--reason', 'tls test'], TOKENS.admin);
    t.equal(push.code, 0, push.stderr);
    const source = new HttpBundleSource({
      baseUrl: w.url,
      token: TOKENS.viewer,
      cacheDir: join(dir, 'cache'),
      trustedKeys: mtls!.trustedKeys,
      ca: mtls!.tls!.ca,
    });
    const got = await source.dirFor('m-tls-1');
    t.match(got, /m-tls-1$/, 'downloaded and verified over https');
    const noCa = new HttpBundleSource({
      baseUrl: w.url,
      token: TOKENS.viewer,
      cacheDir: join(dir, 'cache-2'),
      trustedKeys: mtls!.trustedKeys,
    });
    await t.rejects(
      noCa.dirFor('m-tls-1'),
      { code: 'ATP_ERR_BUNDLE_FETCH_FAILED' },
      'an unverified server is refused',
    );
  },
);

t.test('finding 2: a fake server whose certificate does not verify never receives the token', async (t) => {
  const dir = tempDir(t);
  const pki = makeTestPki(join(dir, 'pki'));
  // A fake watch server with a certificate from the client CA: not the CA the sidecar trusts for servers.
  const impostor = pki.client('127.0.0.1', pki.stranger);
  const fake = await startRogueWatchServer(
    t,
    () => [rogueFullEvent({ ...defaultControlSnapshot('x'), version: 1 })],
    {
      certPem: impostor.certPem,
      keyPem: impostor.keyPem,
    },
  );
  const w = await startControlWorld(t, { tlsCert: pki.server.certPath, tlsKey: pki.server.keyPath });
  const f = sidecarFiles(dir, w);
  const link = parseControlLinkFlags(
    {
      controlPlane: fake.address,
      controlUrl: w.url,
      controlTokenFile: f.token,
      stateDir: join(dir, 'state'),
      trustedKey: [f.bundleKey],
      controlSnapshotKey: [f.snapshotKey],
      controlCa: pki.ca.certPath,
    },
    'eu-west',
    (p) => readFileSync(p, 'utf8'),
  );
  const sc = worldSidecar({ controlLink: link! });
  await sc.start();
  t.teardown(() => sc.stop());
  await waitFor(() => sc.link!.watch.stats.reconnects >= 2, 10_000, 'handshakes refused');
  t.same(fake.authorizations, [], 'the bearer token never left the sidecar');
  t.equal(sc.link!.watch.stats.version, 0);
});

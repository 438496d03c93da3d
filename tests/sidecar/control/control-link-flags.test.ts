/**
 * The trust flags of `serve --control-plane` (issue 16 findings 1-2): a
 * sidecar that follows a control plane needs its snapshot public key
 * (`--control-snapshot-key`) unless `--control-insecure-unsigned-snapshots`
 * says otherwise by name; the bearer token never goes in clear beyond
 * loopback (watch stream without `--control-ca`, or an http:// bundle URL)
 * unless `--control-insecure-plaintext`; mTLS needs both certificate and
 * key, and the CA. Every refusal names its flag (exit 2 from `serve`).
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import {
  isLoopbackHost,
  parseControlLinkFlags,
  type RawControlLinkFlags,
} from '../../../sidecar/src/control/control-link.js';
import { main } from '../../../sidecar/src/main.js';
import { tempDir } from '../../control-plane/helpers/control-world.js';
import { makeTestPki } from '../../helpers/tls-certs.js';

const dir = tempDir(t);
const pki = makeTestPki(join(dir, 'pki'));
const pub = (name: string) => {
  const p = join(dir, name);
  writeFileSync(p, generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }));
  return p;
};
const base: RawControlLinkFlags = {
  controlPlane: '127.0.0.1:7071',
  controlUrl: 'http://127.0.0.1:7070',
  controlToken: 'viewer-token',
  stateDir: join(dir, 'state'),
  trustedKey: [pub('bundles.pem')],
  controlSnapshotKey: [pub('snapshot.pem')],
};
const parse = (over: Partial<RawControlLinkFlags>) =>
  parseControlLinkFlags({ ...base, ...over }, 'eu-west', (p) => readFileSync(p, 'utf8'));
const refused = (over: Partial<RawControlLinkFlags>): string => {
  try {
    parse(over);
  } catch (err) {
    t.equal((err as { code?: string }).code, 'ATP_ERR_INVALID_FLAG');
    return (err as Error).message;
  }
  return 'accepted';
};

t.test('a snapshot key is required, or the insecure flag by name, not both', async (t) => {
  t.equal(parse({})?.snapshotKeys?.length, 1);
  t.match(refused({ controlSnapshotKey: [] }), /^--control-snapshot-key: .*required with --control-plane/);
  t.equal(parse({ controlSnapshotKey: [], controlInsecureUnsignedSnapshots: true })?.snapshotKeys, null);
  t.match(refused({ controlInsecureUnsignedSnapshots: true }), /^--control-insecure-unsigned-snapshots:/);
  t.match(
    refused({ controlSnapshotKey: [join(dir, 'missing.pem')] }),
    /^--control-snapshot-key: .*cannot read/,
  );
  writeFileSync(join(dir, 'not-a-key.pem'), 'hello');
  t.match(refused({ controlSnapshotKey: [join(dir, 'not-a-key.pem')] }), /^--control-snapshot-key:/);
});

t.test('no bearer token in clear beyond loopback unless --control-insecure-plaintext', async (t) => {
  t.ok(['127.0.0.1', 'localhost', '[::1]', '127.9.8.7'].every(isLoopbackHost));
  t.notOk(['10.0.0.1', '0.0.0.0', 'atp-control-plane.atp.svc', '128.0.0.1'].some(isLoopbackHost));
  t.equal(parse({})?.tls, null, 'loopback plaintext: local development');
  const far = {
    controlPlane: 'atp-control-plane.atp.svc:7071',
    controlUrl: 'https://atp-control-plane.atp.svc:7070',
  };
  t.match(refused(far), /^--control-ca: .*bearer token in clear/);
  t.equal(refused({ ...far, controlInsecurePlaintext: true }), 'accepted');
  t.equal(refused({ ...far, controlCa: pki.ca.certPath }), 'accepted');
  t.match(
    refused({ ...far, controlCa: pki.ca.certPath, controlUrl: 'http://atp-control-plane.atp.svc:7070' }),
    /^--control-url: .*in clear/,
  );
});

t.test('TLS material: the CA, and mTLS certificate and key together', async (t) => {
  const c = pki.client('sc-1');
  const tls = parse({ controlCa: pki.ca.certPath, controlCert: c.certPath, controlKey: c.keyPath })?.tls;
  t.ok(tls?.ca.toString().includes('BEGIN CERTIFICATE'));
  t.ok(tls?.cert !== null && tls?.key !== null);
  t.match(refused({ controlCa: pki.ca.certPath, controlCert: c.certPath }), /^--control-key: give both/);
  t.match(refused({ controlCert: c.certPath, controlKey: c.keyPath }), /^--control-ca: mTLS/);
  t.match(refused({ controlCa: join(dir, 'nope.pem') }), /^--control-ca:/);
  t.match(refused({ controlCa: join(dir, 'not-a-key.pem') }), /^--control-ca: .*not PEM/);
});

t.test('serve refuses to start without a snapshot key, naming the flag (exit 2)', async (t) => {
  let stderr = '';
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string) => {
    stderr += s;
    return true;
  }) as typeof process.stderr.write;
  let code: number;
  try {
    code = await main([
      'serve',
      '--region',
      'eu-west',
      '--control-plane',
      '127.0.0.1:7071',
      '--control-url',
      'http://127.0.0.1:7070',
      '--control-token-file',
      join(dir, 'not-a-key.pem'),
      '--state-dir',
      join(dir, 'state'),
      '--trusted-key',
      base.trustedKey![0]!,
    ]);
  } finally {
    process.stderr.write = write;
  }
  t.equal(code, 2);
  t.match(stderr, /--control-snapshot-key/);
});

/**
 * Finding 2 (issue 16): tokens travelled in clear (no TLS on the admin API
 * or the watch stream). With --tls-cert/--tls-key the admin API is HTTPS
 * and the watch stream TLS (plaintext clients get nothing); atpctl checks
 * the certificate against --ca / ATP_CONTROL_CA; with --tls-client-ca the
 * watch stream requires a client certificate from that CA (mTLS) and lists
 * its subject. Without a certificate the control plane still runs in plain
 * HTTP (local development) and logs a warning saying so, but only on a
 * loopback bind: any other --host needs TLS or --insecure-plaintext by name.
 * Certificates are made on the fly (tests/helpers/tls-certs.ts).
 */
import { execFile } from 'node:child_process';
import { Writable } from 'node:stream';
import t from 'tap';
import { createFakeControlPlane } from '../../../control-plane/src/control-plane.js';
import { serveConfig } from '../../../control-plane/src/main.js';
import { createLogger } from '../../../platform/src/logger.js';
import { makeTestPki, type TestPki } from '../../helpers/tls-certs.js';
import { bootstrapTokens, startControlWorld, TOKENS, tempDir, waitFor } from '../helpers/control-world.js';
import { openWatch } from '../helpers/watch-client.js';

function pkiFor(t: Parameters<typeof tempDir>[0]): TestPki {
  return makeTestPki(tempDir(t, 'atp-pki-'));
}

t.test('finding 2: the admin API is HTTPS and atpctl verifies it with --ca or ATP_CONTROL_CA', async (t) => {
  const pki = pkiFor(t);
  const w = await startControlWorld(t, { tlsCert: pki.server.certPath, tlsKey: pki.server.keyPath });
  t.match(w.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const withCa = await w.atpctl(['--ca', pki.ca.certPath, '--json', 'status'], TOKENS.viewer);
  t.equal(withCa.code, 0, withCa.stderr);
  t.equal(JSON.parse(withCa.stdout).transport, 'tls');
  const set = await w.atpctl(
    ['--ca', pki.ca.certPath, 'killswitch', 'set', '--scope', 'sku:S-1', '--reason', 'over TLS'],
    TOKENS.operator,
  );
  t.equal(set.code, 0, set.stderr);

  const { runAtpctl } = await import('../../../control-plane/src/cli/atpctl.js');
  let out = '';
  const viaEnv = await runAtpctl(['--server', w.url, '--token', TOKENS.viewer, 'status'], {
    stdout: (s) => (out += s),
    stderr: (s) => (out += s),
    env: { ATP_CONTROL_CA: pki.ca.certPath },
  });
  t.equal(viaEnv, 0, 'ATP_CONTROL_CA works');
  t.match(out, /transport tls/);

  const noCa = await w.atpctl(['status'], TOKENS.viewer);
  t.equal(noCa.code, 3, 'an unverifiable certificate is never trusted');
  t.match(noCa.stderr, /certificate does not verify: pass its CA with --ca/);
  const wrongCa = await w.atpctl(['--ca', pki.stranger.certPath, 'status'], TOKENS.viewer);
  t.equal(wrongCa.code, 3, 'nor one from another CA');

  const plain = await fetch(w.url.replace('https:', 'http:') + '/v1/status', {
    headers: { authorization: `Bearer ${TOKENS.viewer}` },
  }).then(
    (r) => r.status,
    () => 'refused',
  );
  t.not(plain, 200, 'plain HTTP to the TLS port gets nothing');
});

t.test('finding 2: the watch stream is TLS; a plaintext client gets no snapshot', async (t) => {
  const pki = pkiFor(t);
  const w = await startControlWorld(t, { tlsCertPem: pki.server.certPem, tlsKeyPem: pki.server.keyPem });
  const tls = openWatch(w.grpc, { token: TOKENS.viewer, ca: pki.ca.certPem });
  const plain = openWatch(w.grpc, { token: TOKENS.viewer });
  const untrusted = openWatch(w.grpc, { token: TOKENS.viewer, ca: pki.stranger.certPem });
  t.teardown(() =>
    [tls, plain, untrusted].forEach((s) => {
      s.close();
    }),
  );
  await waitFor(() => tls.events.length >= 1, 5_000, 'a snapshot over TLS');
  t.equal(tls.events[0]?.event, 'snapshot');
  await waitFor(() => plain.error !== null && untrusted.error !== null, 10_000, 'the others fail');
  t.same([plain.events.length, untrusted.events.length], [0, 0]);
  t.equal(plain.error?.code, 14, 'UNAVAILABLE: no plaintext service on a TLS port');
});

t.test('finding 2: mTLS: a sidecar needs a client certificate from --tls-client-ca', async (t) => {
  const pki = pkiFor(t);
  const w = await startControlWorld(t, {
    tlsCert: pki.server.certPath,
    tlsKey: pki.server.keyPath,
    tlsClientCa: pki.clientCa.certPath,
  });
  const cert = pki.client('sidecar-eu-west-1');
  const good = openWatch(w.grpc, {
    token: TOKENS.viewer,
    ca: pki.ca.certPem,
    cert: cert.certPem,
    key: cert.keyPem,
    sidecarId: 'sidecar-eu-west-1',
  });
  const noCert = openWatch(w.grpc, { token: TOKENS.viewer, ca: pki.ca.certPem });
  const rogue = pki.client('sidecar-eu-west-1', pki.stranger);
  const wrongCa = openWatch(w.grpc, {
    token: TOKENS.viewer,
    ca: pki.ca.certPem,
    cert: rogue.certPem,
    key: rogue.keyPem,
  });
  t.teardown(() =>
    [good, noCert, wrongCa].forEach((s) => {
      s.close();
    }),
  );
  await waitFor(() => good.events.length >= 1, 5_000, 'mTLS stream');
  await waitFor(
    () => noCert.error !== null && wrongCa.error !== null,
    10_000,
    'refused without a good certificate',
  );
  t.same([noCert.events.length, wrongCa.events.length], [0, 0]);
  const st = (await w.atpctl(['--ca', pki.ca.certPath, '--json', 'status'], TOKENS.viewer)).stdout;
  const status = JSON.parse(st);
  t.equal(status.transport, 'mtls');
  t.same(
    status.watchers.map((x: { tls_peer: string }) => x.tls_peer),
    ['sidecar-eu-west-1'],
    'the certificate subject is listed',
  );
});

t.test('without a certificate: plain HTTP for local development, with a warning in the log', async (t) => {
  const lines: string[] = [];
  const logger = createLogger({
    level: 'warn',
    destination: new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    }),
  });
  const cp = createFakeControlPlane({ bootstrapTokens: bootstrapTokens() }, { logger });
  await cp.start();
  t.teardown(() => cp.stop());
  t.match(cp.url, /^http:\/\//);
  const r = await fetch(`${cp.url}/v1/status`, { headers: { authorization: `Bearer ${TOKENS.viewer}` } });
  t.equal(r.status, 200);
  t.equal(((await r.json()) as { transport: string }).transport, 'plaintext');
  await waitFor(() => lines.some((l) => l.includes('"event":"plaintext"')), 2_000, 'the warning');
  t.match(lines.join(''), /PLAINTEXT and bearer tokens travel in clear/);
});

t.test(
  'TLS settings are checked: a certificate needs its key, an unreadable file refuses to start',
  async (t) => {
    t.throws(() => createFakeControlPlane({ tlsCert: '/x.pem' }), {
      code: 'ATP_ERR_CONFIG_INVALID',
      field: 'tlsKey',
    });
    t.throws(() => createFakeControlPlane({ tlsKey: '/x.pem' }), {
      code: 'ATP_ERR_CONFIG_INVALID',
      field: 'tlsCert',
    });
    const cp = createFakeControlPlane({ tlsCert: '/nonexistent/cert.pem', tlsKey: '/nonexistent/key.pem' });
    await t.rejects(cp.start(), { code: 'ATP_ERR_CONFIG_INVALID', field: 'tlsCert' });
    await cp.stop();

    // Material that would fail every handshake refuses the start instead, naming the setting.
    const pki = pkiFor(t);
    const mismatched = createFakeControlPlane({ tlsCertPem: pki.server.certPem, tlsKeyPem: pki.ca.keyPem });
    await t.rejects(mismatched.start(), {
      code: 'ATP_ERR_CONFIG_INVALID',
      field: 'tlsKey',
      message: /not the private key of the certificate/,
    });
    await mismatched.stop();
    const badCa = createFakeControlPlane({
      tlsCertPem: pki.server.certPem,
      tlsKeyPem: pki.server.keyPem,
      tlsClientCaPem: 'not a certificate',
    });
    await t.rejects(badCa.start(), { code: 'ATP_ERR_CONFIG_INVALID', field: 'tlsClientCa' });
    await badCa.stop();
    const { loadTlsMaterial } = await import('../../../control-plane/src/tls-material.js');
    const inThreeDays = Date.now() + 3 * 86_400_000;
    t.throws(
      () => loadTlsMaterial({ certPem: pki.server.certPem, keyPem: pki.server.keyPem }, inThreeDays),
      { code: 'ATP_ERR_CONFIG_INVALID', field: 'tlsCert', message: /valid from .* not now/ },
      'an expired certificate (the test certificates live two days)',
    );
  },
);

t.test(
  'finding 2: plaintext never leaves the machine by default: a non-loopback bind needs TLS or --insecure-plaintext',
  async (t) => {
    const pki = pkiFor(t);
    const env = {};
    for (const host of ['0.0.0.0', '::', '10.1.2.3', 'cp.example']) {
      t.throws(
        () => serveConfig({ host }, env),
        {
          code: 'ATP_ERR_INVALID_FLAG',
          field: '--tls-cert',
          message: new RegExp(
            `--tls-cert: binding ${host} \\(not loopback\\) without TLS would send bearer tokens in clear.*--insecure-plaintext`,
          ),
        },
        host,
      );
    }
    for (const host of ['127.0.0.1', '127.9.8.7', '::1', '[::1]', 'localhost']) {
      t.equal(serveConfig({ host }, env).tls, null, `${host}: plaintext on loopback`);
    }
    const knowingly = serveConfig({ host: '0.0.0.0', insecurePlaintext: true }, env);
    t.same([knowingly.tls, knowingly.insecurePlaintext], [null, true], 'asked for by name');
    const secure = serveConfig(
      { host: '0.0.0.0', tlsCert: pki.server.certPath, tlsKey: pki.server.keyPath },
      env,
    );
    t.equal(secure.tls?.certPath, pki.server.certPath);
    t.throws(
      () =>
        serveConfig(
          { tlsCert: pki.server.certPath, tlsKey: pki.server.keyPath, insecurePlaintext: true },
          env,
        ),
      { code: 'ATP_ERR_INVALID_FLAG', message: /--insecure-plaintext: contradicts --tls-cert/ },
    );

    // The process: exit 2 (bad flags) naming the flag, before binding anything.
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [
          '--import',
          'tsx',
          'control-plane/src/main.ts',
          'serve',
          '--db',
          'sqlite::memory:',
          '--host',
          '0.0.0.0',
        ],
        { timeout: 60_000 },
        (err, _stdout, stderr) =>
          resolve({ code: err === null ? 0 : ((err as { code?: number }).code ?? null), stderr }),
      );
    });
    t.equal(r.code, 2, r.stderr);
    t.match(r.stderr, /ATP_ERR_INVALID_FLAG --tls-cert: binding 0\.0\.0\.0 \(not loopback\)/);

    // --insecure-plaintext serves, and says so louder than on loopback.
    const lines: string[] = [];
    const logger = createLogger({
      level: 'warn',
      destination: new Writable({
        write(chunk, _enc, cb) {
          lines.push(String(chunk));
          cb();
        },
      }),
    });
    t.throws(() => createFakeControlPlane({ host: '0.0.0.0' }), {
      code: 'ATP_ERR_CONFIG_INVALID',
      field: 'tlsCert',
    });
    const cp = createFakeControlPlane(
      { host: '0.0.0.0', insecurePlaintext: true, bootstrapTokens: bootstrapTokens() },
      { logger },
    );
    await cp.start();
    t.teardown(() => cp.stop());
    const res = await fetch(`${cp.url}/v1/status`, { headers: { authorization: `Bearer ${TOKENS.viewer}` } });
    t.equal(res.status, 200);
    await waitFor(() => lines.some((l) => l.includes('"event":"plaintext"')), 2_000, 'the warning');
    t.match(
      lines.join(''),
      /--insecure-plaintext: the admin API and the watch stream run in PLAINTEXT on 0\.0\.0\.0/,
    );
  },
);

/**
 * Certificates made on the fly for TLS tests (nothing checked in): a test
 * CA, a server certificate for localhost / 127.0.0.1 signed by it, and
 * client certificates (mTLS) signed by a separate client CA, all with the
 * `openssl` command line (installed on Debian) and EC P-256 keys. Each
 * call writes into a folder of its own; the PEM texts are returned too.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const DAYS = '2';
const CURVE = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export interface KeyPair {
  certPem: string;
  keyPem: string;
  certPath: string;
  keyPath: string;
}

export interface TestPki {
  dir: string;
  /** The CA that signed the server certificate (what clients trust: atpctl --ca, the sidecar). */
  ca: KeyPair;
  server: KeyPair;
  /** The CA of client certificates (control plane --tls-client-ca). */
  clientCa: KeyPair;
  /** A client certificate with subject CN=`cn`, signed by clientCa (or by `signer`). */
  client(cn: string, signer?: KeyPair): KeyPair;
  /** A CA nobody trusts (a certificate from it must be refused). */
  stranger: KeyPair;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function pair(dir: string, name: string): KeyPair {
  const certPath = join(dir, `${name}.pem`);
  const keyPath = join(dir, `${name}.key`);
  return {
    certPath,
    keyPath,
    certPem: readFileSync(certPath, 'utf8'),
    keyPem: readFileSync(keyPath, 'utf8'),
  };
}

function makeCa(dir: string, name: string, cn: string): KeyPair {
  openssl(
    [
      'req',
      '-x509',
      ...CURVE,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.pem`,
      '-days',
      DAYS,
      '-subj',
      `/CN=${cn}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  return pair(dir, name);
}

function makeLeaf(dir: string, name: string, cn: string, ca: KeyPair, ext: string): KeyPair {
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(['req', ...CURVE, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`], dir);
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      ca.certPath,
      '-CAkey',
      ca.keyPath,
      '-CAcreateserial',
      '-out',
      `${name}.pem`,
      '-days',
      DAYS,
      '-extfile',
      `${name}.ext`,
    ],
    dir,
  );
  return pair(dir, name);
}

/** A fresh PKI in `dir` (created if needed). */
export function makeTestPki(dir: string): TestPki {
  mkdirSync(dir, { recursive: true });
  const ca = makeCa(dir, 'ca', 'atp-test-ca');
  const clientCa = makeCa(dir, 'client-ca', 'atp-test-client-ca');
  const stranger = makeCa(dir, 'stranger-ca', 'atp-stranger-ca');
  const server = makeLeaf(
    dir,
    'server',
    'localhost',
    ca,
    'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n',
  );
  let n = 0;
  return {
    dir,
    ca,
    server,
    clientCa,
    stranger,
    client: (cn, signer = clientCa) =>
      makeLeaf(
        dir,
        `client-${++n}`,
        cn,
        signer,
        'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n',
      ),
  };
}

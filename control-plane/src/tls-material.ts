/**
 * The certificate, key and optional client CA of both edges, read once at
 * start (PEM files from the flags, or inline PEM in tests), and the gRPC
 * server credentials made from them: TLS, or mTLS when a client CA is set
 * (the watch stream then refuses a sidecar without a certificate that CA
 * signed). The admin API uses the same certificate over HTTPS (bearer
 * tokens authenticate its callers; atpctl presents no certificate).
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { AtpError } from '@mercato/platform/errors';
import type { TlsConfig } from './config.js';
import { ERR } from './errors.js';

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  clientCa: Buffer | null;
  /** Subject and expiry of the certificate, for the start log. */
  subject: string;
  validTo: string;
}

/**
 * Reads and checks the material: a certificate that is not PEM, a key that
 * is not its key, or a certificate outside its validity period refuse the
 * start (CONFIG_INVALID naming the setting) rather than fail each handshake.
 */
export function loadTlsMaterial(c: TlsConfig, nowMs: number = Date.now()): TlsMaterial {
  const cert = pem(c.certPem, c.certPath, 'tlsCert');
  const key = pem(c.keyPem, c.keyPath, 'tlsKey');
  const clientCa =
    c.clientCaPem === undefined && c.clientCaPath === undefined
      ? null
      : pem(c.clientCaPem, c.clientCaPath, 'tlsClientCa');
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (err) {
    throw new AtpError(
      ERR.CONFIG_INVALID,
      `tlsCert: not a PEM certificate (${(err as Error).message})`,
      'tlsCert',
    );
  }
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    throw new AtpError(
      ERR.CONFIG_INVALID,
      `tlsKey: not the private key of the certificate in tlsCert (${(err as Error).message})`,
      'tlsKey',
    );
  }
  if (clientCa !== null) {
    try {
      new X509Certificate(clientCa);
    } catch (err) {
      throw new AtpError(
        ERR.CONFIG_INVALID,
        `tlsClientCa: not a PEM certificate (${(err as Error).message})`,
        'tlsClientCa',
      );
    }
  }
  const subject = x509.subject.replaceAll('\n', ', ');
  if (Date.parse(x509.validTo) <= nowMs || Date.parse(x509.validFrom) > nowMs) {
    throw new AtpError(
      ERR.CONFIG_INVALID,
      `tlsCert: the certificate of ${subject} is valid from ${x509.validFrom} to ${x509.validTo}, not now: every client would refuse it`,
      'tlsCert',
    );
  }
  return { cert, key, clientCa, subject, validTo: x509.validTo };
}

/** TLS (mTLS with a client CA) for the watch stream; insecure only without material. */
export function grpcServerCredentials(m: TlsMaterial | null): grpc.ServerCredentials {
  if (m === null) return grpc.ServerCredentials.createInsecure();
  return grpc.ServerCredentials.createSsl(
    m.clientCa,
    [{ private_key: m.key, cert_chain: m.cert }],
    m.clientCa !== null,
  );
}

function pem(inline: string | undefined, path: string | undefined, field: string): Buffer {
  if (inline !== undefined) return Buffer.from(inline);
  if (path === undefined) throw new AtpError(ERR.CONFIG_INVALID, `${field}: missing`, field);
  try {
    return readFileSync(path);
  } catch (err) {
    throw new AtpError(
      ERR.CONFIG_INVALID,
      `${field}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      field,
      { cause: err },
    );
  }
}

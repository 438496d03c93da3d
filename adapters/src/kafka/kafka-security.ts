/**
 * TLS and SASL for every kafkajs client (issue 16 finding 2: Kafka travelled
 * in clear). One parser for the flags every entry point that talks to
 * Kafka takes (`--kafka-tls`, `--kafka-ca`, `--kafka-sasl-mechanism`,
 * `--kafka-sasl-username`, `--kafka-sasl-password-file`), one mapping to
 * kafkajs's `ssl` / `sasl` options (createKafkaClient).
 *
 * SASL without TLS is refused: PLAIN sends the password itself, and SCRAM
 * leaves everything after the handshake in clear.
 */
import { flagError } from '@mercato/platform/flags';
import type { SASLOptions } from 'kafkajs';

export const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

export interface KafkaSecurity {
  /** TLS to the brokers; `ca` null = the system CAs. */
  tls: { ca: string | null } | null;
  sasl: { mechanism: SaslMechanism; username: string; password: string } | null;
}

/** Raw commander values of the Kafka security flags. */
export interface RawKafkaSecurityFlags {
  kafkaTls?: boolean;
  kafkaCa?: string;
  kafkaSaslMechanism?: string;
  kafkaSaslUsername?: string;
  kafkaSaslPasswordFile?: string;
}

/** null when no Kafka security flag is given (plaintext, as before). Errors name the flag. */
export function parseKafkaSecurityFlags(
  raw: RawKafkaSecurityFlags,
  readFile: (path: string) => string,
): KafkaSecurity | null {
  const read = (flag: string, path: string): string => {
    try {
      return readFile(path);
    } catch (err) {
      throw flagError(flag, (err as Error).message);
    }
  };
  let tls: KafkaSecurity['tls'] = null;
  if (raw.kafkaCa !== undefined) {
    const ca = read('--kafka-ca', raw.kafkaCa);
    if (!ca.includes('-----BEGIN ')) throw flagError('--kafka-ca', `${raw.kafkaCa} is not PEM`);
    tls = { ca };
  } else if (raw.kafkaTls === true) tls = { ca: null };
  let sasl: KafkaSecurity['sasl'] = null;
  const anySasl =
    raw.kafkaSaslMechanism !== undefined ||
    raw.kafkaSaslUsername !== undefined ||
    raw.kafkaSaslPasswordFile !== undefined;
  if (anySasl) {
    const mechanism = raw.kafkaSaslMechanism ?? 'scram-sha-512';
    if (!(SASL_MECHANISMS as readonly string[]).includes(mechanism))
      throw flagError('--kafka-sasl-mechanism', `expected one of ${SASL_MECHANISMS.join(', ')}`);
    if (raw.kafkaSaslUsername === undefined || raw.kafkaSaslUsername === '')
      throw flagError('--kafka-sasl-username', 'SASL needs a user name');
    if (raw.kafkaSaslPasswordFile === undefined)
      throw flagError('--kafka-sasl-password-file', 'SASL needs a password file');
    const password = read('--kafka-sasl-password-file', raw.kafkaSaslPasswordFile).trim();
    if (password === '') throw flagError('--kafka-sasl-password-file', 'the password file is empty');
    if (tls === null)
      throw flagError('--kafka-tls', 'SASL credentials would travel in clear: add --kafka-tls or --kafka-ca');
    sasl = { mechanism: mechanism as SaslMechanism, username: raw.kafkaSaslUsername, password };
  }
  return tls === null && sasl === null ? null : { tls, sasl };
}

/** The kafkajs client options for `security` (none for null). */
export function kafkajsSecurityOptions(security: KafkaSecurity | null | undefined): {
  ssl?: boolean | { ca: string[] };
  sasl?: SASLOptions;
} {
  if (security === null || security === undefined) return {};
  return {
    ...(security.tls === null ? {} : { ssl: security.tls.ca === null ? true : { ca: [security.tls.ca] } }),
    ...(security.sasl === null
      ? {}
      : {
          sasl: {
            mechanism: security.sasl.mechanism,
            username: security.sasl.username,
            password: security.sasl.password,
          } as SASLOptions,
        }),
  };
}

/** The commander options of the Kafka security flags, for every entry point that talks to Kafka. */
export const KAFKA_SECURITY_OPTIONS: readonly [flag: string, help: string][] = [
  ['--kafka-tls', 'TLS to the brokers (the system CAs unless --kafka-ca)'],
  ['--kafka-ca <pem>', "CA of the brokers' certificates (implies --kafka-tls)"],
  ['--kafka-sasl-mechanism <m>', `SASL mechanism: ${SASL_MECHANISMS.join(' | ')} (default scram-sha-512)`],
  ['--kafka-sasl-username <user>', 'SASL user name (needs TLS)'],
  ['--kafka-sasl-password-file <path>', 'file holding the SASL password'],
];

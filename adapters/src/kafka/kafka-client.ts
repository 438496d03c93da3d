/**
 * The one place a kafkajs client is built: timeouts and retries as named
 * constants, kafkajs's own logs routed into our pino logger, and an optional
 * socket factory (tests route broker connections through cuttable proxies).
 */

import type { Logger } from '@mercato/platform/logger';
import { type ISocketFactory, Kafka, type LogEntry, logLevel } from 'kafkajs';
import { type KafkaSecurity, kafkajsSecurityOptions } from './kafka-security.js';

/** A broker that does not accept a TCP connection within this is treated as down. */
export const KAFKA_CONNECTION_TIMEOUT_MS = 3_000;
/** kafkajs's default is 30 s; an unreachable coordinator should surface faster than that. */
export const KAFKA_REQUEST_TIMEOUT_MS = 10_000;
export const KAFKA_RETRY_INITIAL_MS = 300;
export const KAFKA_RETRY_MAX_MS = 10_000;
export const KAFKA_RETRIES = 8;

export type SocketFactory = ISocketFactory;

export interface KafkaClientOptions {
  brokers: string[];
  clientId: string;
  logger: Logger;
  socketFactory?: SocketFactory;
  /** TLS / SASL (kafka-security.ts); null or absent = plaintext. */
  security?: KafkaSecurity | null;
}

export function createKafkaClient(opts: KafkaClientOptions): Kafka {
  const log = opts.logger.child({ component: 'kafkajs' });
  return new Kafka({
    clientId: opts.clientId,
    brokers: opts.brokers,
    connectionTimeout: KAFKA_CONNECTION_TIMEOUT_MS,
    requestTimeout: KAFKA_REQUEST_TIMEOUT_MS,
    retry: {
      initialRetryTime: KAFKA_RETRY_INITIAL_MS,
      maxRetryTime: KAFKA_RETRY_MAX_MS,
      retries: KAFKA_RETRIES,
    },
    ...(opts.socketFactory === undefined ? {} : { socketFactory: opts.socketFactory }),
    ...kafkajsSecurityOptions(opts.security),
    // kafkajs logs every broker error at ERROR although it retries them; the ingester reports
    // the outcome (health, metrics), so its errors are warnings here.
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ namespace, level, log: entry }: LogEntry) => {
        const { message, ...extra } = entry;
        const fields = { ns: namespace, ...extra };
        if (level <= logLevel.WARN) log.warn(fields, message);
        else if (level === logLevel.INFO) log.info(fields, message);
        else log.debug(fields, message);
      },
  });
}

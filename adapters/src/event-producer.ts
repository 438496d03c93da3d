/**
 * The producer side of an event log, as the simulator, the closed-loop world
 * and the replay tool see it: keyed records appended to a topic, partitioned
 * by murmur2 of the key (proto/v1/partition-for-key.ts). Implemented by
 * KafkaEventProducer (kafka/) and MemoryEventLog (memory/, the embedded
 * default), so a producer never knows which one it writes to.
 */

export interface KeyedRecord {
  key: string;
  value: string | Buffer;
  /**
   * Create time, epoch ms as a decimal string (kafkajs' Message.timestamp);
   * absent: the producer's now. The closed-loop world stamps the simulated
   * delivery time, so a consumer's lag is in world time.
   */
  timestamp?: string;
}

export interface EventProducer {
  /** Resolves once every record is durably appended (all in-sync replicas for Kafka). */
  send(topic: string, records: readonly KeyedRecord[]): Promise<void>;
}

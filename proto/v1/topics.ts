/**
 * Kafka topic names (DESIGN.md §7: each region runs its own topics). Every
 * producer and consumer derives names from here, so a region's data cannot
 * land on another region's topic by a spelling slip.
 *
 * - `inventory.mutations.<region>`: inventory events, keyed by sku (heartbeats by node),
 *   partitioned with murmur2 (partition-for-key.ts).
 * - `order.outcomes.<region>`: order outcomes (order-outcome.ts), keyed by decision id; in a
 *   simulated world also stock truths (stock-truth.ts), told apart by `schema`.
 * - `atp.decisions.<region>`: decision events (decision-event.ts), keyed by decision id.
 * - `<topic>.dlq`: what a consumer could not apply, original bytes plus the reason in headers.
 */

export function mutationsTopic(region: string): string {
  return `inventory.mutations.${region}`;
}

export function deadLetterTopic(topic: string): string {
  return `${topic}.dlq`;
}

export function outcomesTopic(region: string): string {
  return `order.outcomes.${region}`;
}

export function decisionsTopic(region: string): string {
  return `atp.decisions.${region}`;
}

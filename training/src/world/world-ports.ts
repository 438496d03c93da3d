/**
 * The world driver's ports: everything it talks to, as small interfaces, so
 * the same driver runs against real processes (HTTP data planes, Kafka, the
 * shared world clock; wired by the world supervisor) or in-process fakes
 * (naive-router.ts, memory-sinks.ts; the tests).
 */
import type { Clock } from '@mercato/platform/clock';
import type { InventoryEvent } from '@mercato/proto/v1/inventory-event';
import type { OrderOutcome } from '@mercato/proto/v1/order-outcome';
import type { ScenarioCallbacks } from './scenarios.js';

/** One buyer's checkout, as the world sends it to a data plane. */
export interface WorldCheckout {
  /** The simulator's checkout id: the call's request id (`x-request-id`). */
  checkoutId: string;
  region: string;
  buyerZone: string;
  sku: string;
  qty: number;
  /** Simulated time the buyer checked out (business time of the call). */
  atMs: number;
}

/** Fields every answer may carry. */
interface AnswerCommon {
  /** Degradations in force for this answer (DESIGN §6 names), none when healthy. */
  degradations?: readonly string[];
  /** Wall ms from the call to its answer, as the caller measured it. */
  latencyMs: number;
}

/**
 * The data plane's answer. allow: the order went through, promised at
 * `node` under `decisionId`; deny: refused (409); error: the call failed
 * (filter or sidecar failure, 503, timeout), which never promises.
 *
 * An allow without a node (null) is an order the filter let through on its
 * own (a wide last-known margin while the sidecar was down, a kill-switch
 * bypass): nobody promised a node, so the world's order service fulfils it
 * from the nearest candidate its own records show in stock (see
 * CheckoutDispatcher), and the decision record says so.
 */
export type RouterAnswer =
  | (AnswerCommon & { decision: 'allow'; decisionId: string; node: string | null })
  | (AnswerCommon & { decision: 'deny'; decisionId?: string })
  | (AnswerCommon & { decision: 'error'; reason: string });

/** Decides checkouts (a data plane over HTTP, or the in-process naive router). Called concurrently. */
export interface Router {
  /** Resolves with the answer; a rejection counts as an `error` answer. */
  route(checkout: WorldCheckout): Promise<RouterAnswer>;
}

/** An inventory event as the system receives it: the simulated delivery time is its Kafka timestamp. */
export interface DeliveredEvent {
  event: InventoryEvent;
  deliverAtMs: number;
}

/** Where the world's inventory events go (`inventory.mutations.<region>`), in delivery order. */
export interface EventSink {
  /** Takes one batch; resolves once it is accepted (queued by the producer is enough). Batches never overlap. */
  send(batch: readonly DeliveredEvent[]): Promise<void>;
}

/** Where order outcomes go (`order.outcomes.<region>` and the run's NDJSON file). */
export interface OutcomeSink {
  /** Takes one batch, in the order the outcomes happened. Batches never overlap. */
  send(batch: readonly OrderOutcome[]): Promise<void>;
}

/** Progress lines (stderr by default). */
export interface ProgressSink {
  write(line: string): unknown;
}

export interface WorldPorts {
  router: Router;
  events: EventSink;
  outcomes: OutcomeSink;
  /** The world clock every process shares (platform/src/clock.ts); the live phase is paced against it. */
  clock: Clock;
  /** Waits this many wall ms. Default: a timer. Tests pass one that moves a virtual clock instead. */
  sleep?: (wallMs: number) => Promise<void>;
  /** Default: process.stderr. */
  progress?: ProgressSink;
  /** The supervisor's side of the run's scenario (scenarios.ts); none: the scenario's faults are not injected. */
  scenario?: ScenarioCallbacks;
}

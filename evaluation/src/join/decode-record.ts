/**
 * Turns one consumed record into a typed join input, or throws a coded error
 * naming the field (the record then goes to the dead letters with it). The
 * decisions stream carries decision events; the outcomes stream carries
 * order outcomes and, from simulated worlds, stock truths, told apart by
 * `schema`. A record of another region is refused too: the join of a region
 * reads only its own topics (DESIGN §7), so a foreign record is a routing bug.
 */
import { type DecisionEvent, parseDecisionEvent } from '@mercato/proto/v1/decision-event';
import { ORDER_OUTCOME_SCHEMA, type OrderOutcome, parseOutcome } from '@mercato/proto/v1/order-outcome';
import { parseStockTruth, STOCK_TRUTH_SCHEMA, type StockTruth } from '@mercato/proto/v1/stock-truth';
import { asObject, ContractError, parseJsonText } from '@mercato/proto/v1/validate';

export type Stream = 'decisions' | 'outcomes';

export type JoinInput =
  | { kind: 'decision'; decision: DecisionEvent }
  | { kind: 'outcome'; outcome: OrderOutcome }
  | { kind: 'truth'; truth: StockTruth };

export function decodeRecord(stream: Stream, text: string, region: string): JoinInput {
  const raw = parseJsonText(text);
  let input: JoinInput;
  if (stream === 'decisions') {
    input = { kind: 'decision', decision: parseDecisionEvent(raw) };
  } else {
    const schema = asObject(raw, '$').schema;
    if (schema === ORDER_OUTCOME_SCHEMA) input = { kind: 'outcome', outcome: parseOutcome(raw) };
    else if (schema === STOCK_TRUTH_SCHEMA) input = { kind: 'truth', truth: parseStockTruth(raw) };
    else throw new ContractError('schema', `expected "${ORDER_OUTCOME_SCHEMA}" or "${STOCK_TRUTH_SCHEMA}"`);
  }
  const got = regionOf(input);
  if (got !== region) throw new ContractError('region', `"${got}" on the stream of region "${region}"`);
  return input;
}

function regionOf(i: JoinInput): string {
  if (i.kind === 'decision') return i.decision.region;
  if (i.kind === 'outcome') return i.outcome.region;
  return i.truth.region;
}

/** The event time a record advances the watermark to. */
export function eventTimeMs(i: JoinInput): number {
  if (i.kind === 'decision') return i.decision.tsMs;
  if (i.kind === 'outcome') return i.outcome.resolvedAtMs;
  return i.truth.decidedAtMs;
}

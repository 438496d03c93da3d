import t from 'tap';
import {
  decisionEventKey,
  decodeDecisionEvent,
  encodeDecisionEvent,
  parseDecisionEvent,
} from '../../../proto/v1/decision-event.js';
import { decodeStockTruth, encodeStockTruth, parseStockTruth } from '../../../proto/v1/stock-truth.js';
import { decisionsTopic } from '../../../proto/v1/topics.js';
import { ContractError } from '../../../proto/v1/validate.js';
import { loadJson } from '../../helpers/fixtures.js';

t.test('every valid decision event parses, round-trips and is keyed by its decision id', async (t) => {
  for (const raw of loadJson<unknown[]>('proto/v1/fixtures/decision-event.valid.json')) {
    const e = parseDecisionEvent(raw);
    t.same(decodeDecisionEvent(encodeDecisionEvent(e)), e, `${e.decisionId} round-trips`);
    t.same(JSON.parse(encodeDecisionEvent(e)), raw, `${e.decisionId} encodes to the fixture's meaning`);
    t.equal(decisionEventKey(e), e.decisionId);
  }
});

t.test('every invalid decision event is refused with an error naming the field', async (t) => {
  for (const c of loadJson<{ why: string; field: string; input: unknown }[]>(
    'proto/v1/fixtures/decision-event.invalid.json',
  )) {
    const err = t.throws(() => parseDecisionEvent(c.input), c.why) as ContractError;
    t.type(err, ContractError);
    t.equal(err.field, c.field, `${c.why}: names ${c.field}`);
  }
});

t.test('a decision event carrying user-level data says so', async (t) => {
  const [raw] = loadJson<Record<string, unknown>[]>('proto/v1/fixtures/decision-event.valid.json');
  const err = t.throws(() => parseDecisionEvent({ ...raw, session_id: 's-1' })) as ContractError;
  t.match(err.message, /user-level data/);
});

t.test('stock truths parse, round-trip, and invalid ones name the field', async (t) => {
  for (const raw of loadJson<unknown[]>('proto/v1/fixtures/stock-truth.valid.json')) {
    const s = parseStockTruth(raw);
    t.same(decodeStockTruth(encodeStockTruth(s)), s);
    t.same(JSON.parse(encodeStockTruth(s)), raw);
  }
  for (const c of loadJson<{ why: string; field: string; input: unknown }[]>(
    'proto/v1/fixtures/stock-truth.invalid.json',
  )) {
    const err = t.throws(() => parseStockTruth(c.input), c.why) as ContractError;
    t.equal(err.field, c.field, `${c.why}: names ${c.field}`);
  }
});

t.test('text that is not JSON is refused as a whole-message error', async (t) => {
  t.equal((t.throws(() => decodeDecisionEvent('{')) as ContractError).field, '$');
});

t.test('decisions travel on their region topic', async (t) => {
  t.equal(decisionsTopic('eu-west'), 'atp.decisions.eu-west');
});

import t from 'tap';
import { decodeOutcome, encodeOutcome, outcomeKey, parseOutcome } from '../../../proto/v1/order-outcome.js';
import { outcomesTopic } from '../../../proto/v1/topics.js';
import { ContractError } from '../../../proto/v1/validate.js';
import { loadJson } from '../../helpers/fixtures.js';

t.test('every valid outcome parses, round-trips and is keyed by its decision', async (t) => {
  for (const raw of loadJson<unknown[]>('proto/v1/fixtures/order-outcome.valid.json')) {
    const o = parseOutcome(raw);
    t.same(decodeOutcome(encodeOutcome(o)), o, `${o.outcomeId} round-trips`);
    t.same(JSON.parse(encodeOutcome(o)), raw, `${o.outcomeId} encodes to the fixture's meaning`);
    t.equal(outcomeKey(o), o.decisionId);
  }
});

t.test('every invalid outcome is refused with an error naming the field', async (t) => {
  for (const c of loadJson<{ why: string; field: string; input: unknown }[]>(
    'proto/v1/fixtures/order-outcome.invalid.json',
  )) {
    const err = t.throws(() => parseOutcome(c.input), c.why) as ContractError;
    t.type(err, ContractError);
    t.equal(err.field, c.field, `${c.why}: names ${c.field}`);
  }
});

t.test('text that is not JSON is refused as a whole-message error', async (t) => {
  const err = t.throws(() => decodeOutcome('{')) as ContractError;
  t.equal(err.field, '$');
});

t.test('outcomes travel on their region topic', async (t) => {
  t.equal(outcomesTopic('eu-west'), 'order.outcomes.eu-west');
});

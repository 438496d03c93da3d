import t from 'tap';
import { decodeEvent, encodeEvent, parseEvent } from '../../../proto/v1/inventory-event.js';
import { ContractError } from '../../../proto/v1/validate.js';
import { loadJson } from '../../helpers/fixtures.js';

const valid = loadJson<unknown[]>('proto/v1/fixtures/inventory-event.valid.json');
const invalid = loadJson<{ why: string; field: string; input: unknown }[]>(
  'proto/v1/fixtures/inventory-event.invalid.json',
);

t.test('every valid fixture parses and survives an encode/decode round trip', async (t) => {
  for (const raw of valid) {
    const e = parseEvent(raw);
    t.same(decodeEvent(encodeEvent(e)), e, `${e.kind} round-trips`);
    t.same(JSON.parse(encodeEvent(e)), raw, `${e.kind} encodes to the fixture bytes' meaning`);
  }
});

t.test('every invalid fixture is refused with an error naming the field', async (t) => {
  for (const c of invalid) {
    const err = t.throws(() => parseEvent(c.input), c.why) as ContractError;
    t.type(err, ContractError, `${c.why}: is a ContractError`);
    t.equal(err.field, c.field, `${c.why}: names ${c.field}`);
  }
});

t.test('text that is not JSON is refused as a whole-message error', async (t) => {
  const err = t.throws(() => decodeEvent('{"schema":')) as ContractError;
  t.equal(err.field, '$');
  t.match(err.message, /not valid JSON/);
});

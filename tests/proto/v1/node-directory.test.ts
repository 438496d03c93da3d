import t from 'tap';
import {
  checkBatchVersion,
  decodeBatchFeatures,
  decodeNodeInfo,
  encodeBatchFeatures,
  encodeNodeInfo,
  parseBatchFeatures,
  parseNodeInfo,
} from '../../../proto/v1/node-directory.js';
import { ContractError } from '../../../proto/v1/validate.js';
import { loadJson } from '../../helpers/fixtures.js';

type Invalid = { why: string; field: string; input: unknown }[];

t.test('every valid directory entry parses and round-trips through its wire form', async (t) => {
  for (const raw of loadJson<unknown[]>('proto/v1/fixtures/node-directory.valid.json')) {
    const n = parseNodeInfo(raw);
    t.same(decodeNodeInfo(encodeNodeInfo(n)), n, `${n.nodeId} round-trips`);
    t.same(JSON.parse(encodeNodeInfo(n)), raw, `${n.nodeId} encodes to the fixture's meaning`);
  }
});

t.test('every invalid directory entry is refused naming the field', async (t) => {
  for (const c of loadJson<Invalid>('proto/v1/fixtures/node-directory.invalid.json')) {
    const err = t.throws(() => parseNodeInfo(c.input), c.why) as ContractError;
    t.type(err, ContractError);
    t.equal(err.field, c.field, `${c.why}: names ${c.field}`);
  }
});

t.test('batch features round-trip and out-of-range values are refused naming the field', async (t) => {
  const f = {
    lossShare: 0.01,
    scanAccuracy: 0.93,
    cancelRate: 0.02,
    feedDelayP50S: 1.4,
    handlingAdherence: 0.97,
  };
  t.same(decodeBatchFeatures(encodeBatchFeatures('WH-01', f)), { nodeId: 'WH-01', features: f });
  for (const c of loadJson<Invalid>('proto/v1/fixtures/batch-features.invalid.json')) {
    const err = t.throws(() => parseBatchFeatures(c.input), c.why) as ContractError;
    t.equal(err.field, c.field, `${c.why}: names ${c.field}`);
  }
});

t.test('batch versions are bounded, printable names', async (t) => {
  t.equal(checkBatchVersion('batch-20260105T0000-1a2b3c4d'), 'batch-20260105T0000-1a2b3c4d');
  t.throws(() => checkBatchVersion('v1'), ContractError);
  t.throws(() => checkBatchVersion('batch-a b'), ContractError);
  t.throws(() => checkBatchVersion(`batch-${'x'.repeat(200)}`), ContractError);
});

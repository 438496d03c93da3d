/**
 * `npm run train -- --federated-regions ...` parses into the training
 * config; unknown, repeated or too few regions are refused with an
 * ATP_ERR_INVALID_FLAG naming the flag.
 */
import t from 'tap';
import { configHash, DEFAULT_TRAIN_CONFIG } from '../../../training/src/pipeline/train-config.js';
import { parseTrainArgs } from '../../../training/src/train-cli.js';

t.test('a list of registry regions becomes config.federatedRegions, in the order given', async (t) => {
  const o = parseTrainArgs(['--federated-regions', 'eu-west,eu-central,us-east']);
  if (o === 'help') throw new Error('unexpected help');
  t.same(o.config.federatedRegions, ['eu-west', 'eu-central', 'us-east']);
  t.not(configHash(o.config), configHash(DEFAULT_TRAIN_CONFIG), 'a federated run has its own bundle version');
  const pooled = parseTrainArgs([]);
  if (pooled === 'help') throw new Error('unexpected help');
  t.equal(pooled.config.federatedRegions, undefined);
  t.equal(configHash(pooled.config), configHash(DEFAULT_TRAIN_CONFIG), 'the pooled config hash is unchanged');
});

t.test('bad region lists are refused naming the flag', async (t) => {
  const bad: [string, RegExp][] = [
    ['eu-west,eu-wset', /unknown region "eu-wset"/],
    ['eu-west,eu-west', /listed twice/],
    ['eu-west', /at least 2 regions/],
    ['eu-west,,us-east', /comma-separated/],
  ];
  for (const [v, msg] of bad) {
    t.throws(() => parseTrainArgs(['--federated-regions', v]), {
      code: 'ATP_ERR_INVALID_FLAG',
      field: '--federated-regions',
      message: msg,
    });
  }
});

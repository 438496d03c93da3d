import t from 'tap';
import { bundleVersion, DEFAULT_TRAIN_CONFIG } from '../../training/src/pipeline/train-config.js';
import { DEFAULT_MODELS_DIR, parseTrainArgs } from '../../training/src/train-cli.js';

t.test('no flags means the default config, the default output folders and the default version', async (t) => {
  const o = parseTrainArgs([]);
  if (o === 'help') throw new Error('unexpected help');
  t.equal(bundleVersion(o.config), bundleVersion(DEFAULT_TRAIN_CONFIG));
  t.equal(o.out, DEFAULT_MODELS_DIR);
  t.equal(o.csvDir, null);
  t.equal(o.current, true);
});

t.test('flags set the config, and change the version', async (t) => {
  const o = parseTrainArgs([
    '--seed',
    '7',
    '--events',
    '200_000',
    '--test-seed',
    '9',
    '--cost-ratio',
    '20',
    '--csv-dir',
    'training/out/csv',
    '--calibration',
    'platt',
    '--depth',
    '5',
  ]);
  if (o === 'help') throw new Error('unexpected help');
  t.equal(o.config.seed, 7);
  t.equal(o.config.events, 200_000);
  t.equal(o.config.testSeed, 9);
  t.equal(o.config.costRatio, 20);
  t.equal(o.config.calibration, 'platt');
  t.equal(o.config.gbdt.maxDepth, 5);
  t.equal(o.config.gbdt.maxLeaves, 32);
  t.equal(o.csvDir, 'training/out/csv');
  t.match(bundleVersion(o.config), /^gbdt-s7-[0-9a-f]{8}$/);
  t.not(bundleVersion(o.config), bundleVersion(DEFAULT_TRAIN_CONFIG));
  t.equal(parseTrainArgs(['--help']), 'help');
});

t.test('bad flags are refused with the flag named', async (t) => {
  const cases: [string[], RegExp][] = [
    [['--events', 'lots'], /^--events: expected a whole number/],
    [['--events', '5'], /^--events: must be between/],
    [['--seed', '1.5'], /^--seed: expected a whole number/],
    [['--cost-ratio', 'x'], /^--cost-ratio: expected a number/],
    [['--cost-ratio', '0'], /^--cost-ratio: must be between/],
    [['--calibration', 'magic'], /^--calibration: expected isotonic or platt/],
    [['--test-seed', '1'], /^--test-seed: 1 is a training or calibration world seed/],
    [['--test-seed', '1001'], /^--test-seed: 1001 is a training or calibration world seed/],
    [
      ['--calibration-worlds', '0', '--worlds', '2', '--test-seed', '1001'],
      /^--test-seed: 1001 is a training/,
    ],
    [['--out', ' '], /^--out: expected a directory path/],
    [['--bogus'], /bogus/],
  ];
  for (const [argv, message] of cases) {
    t.throws(
      () => parseTrainArgs(argv),
      { name: 'AtpError', code: 'ATP_ERR_INVALID_FLAG', message },
      argv.join(' '),
    );
  }
});

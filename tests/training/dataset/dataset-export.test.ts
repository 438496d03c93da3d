/**
 * Training rows are user-level data: `train-cli --csv-dir` writes them only
 * with a residency clearance for an in-region folder; `--csv-region` naming
 * another region is refused before any training, naming the flag.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { FEATURE_COUNT } from '../../../features/src/feature-vector.js';
import { clearDatasetExport, writeDatasetCsv } from '../../../training/src/dataset/dataset-export.js';
import type { DecisionRows } from '../../../training/src/dataset/decision-rows.js';
import { parseTrainArgs } from '../../../training/src/train-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'atp-dataset-export-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const rows: DecisionRows = {
  rows: 1,
  x: new Float32Array(FEATURE_COUNT).fill(0.5),
  y: Uint8Array.of(1),
  atMs: Float64Array.of(1_700_000_000_000),
  checkout: Int32Array.of(1),
  rank: Uint8Array.of(0),
  nodeType: Uint8Array.of(1),
  promisedBySim: Uint8Array.of(1),
  cancelled: Uint8Array.of(0),
};

t.test(
  'an in-region folder is cleared and written; another region is refused naming the field',
  async (t) => {
    const cleared = clearDatasetExport('eu-west', { dir });
    await writeDatasetCsv(cleared, 'train.csv', rows, () => 7);
    t.equal(readFileSync(join(dir, 'train.csv'), 'utf8').trim().split('\n').length, 2, 'header and one row');
    t.equal(clearDatasetExport('eu-west', { dir, region: 'eu-west' }).to, 'eu-west');
    t.throws(() => clearDatasetExport('eu-west', { dir, region: 'us-east' }), {
      code: 'ATP_ERR_RESIDENCY',
      field: 'csv-region',
      message: /us-east's: user-level data of eu-west never leaves eu-west/,
    });
    t.throws(() => clearDatasetExport('eu-west', { dir, region: 'mars-1' }), {
      code: 'ATP_ERR_RESIDENCY',
      message: /unknown region "mars-1"/,
    });
    t.throws(() => writeDatasetCsv({ ...cleared }, 'x.csv', rows, () => 7), {
      code: 'ATP_ERR_RESIDENCY',
      field: 'clearance',
    });
  },
);

t.test('train-cli --csv-region: another region refused at the flags, before training', async (t) => {
  t.throws(() => parseTrainArgs(['--csv-dir', dir, '--csv-region', 'us-east']), {
    code: 'ATP_ERR_RESIDENCY',
    field: '--csv-region',
    message: /never leaves eu-west/,
  });
  t.throws(() => parseTrainArgs(['--csv-region', 'eu-west']), {
    code: 'ATP_ERR_INVALID_FLAG',
    field: '--csv-region',
    message: /only with --csv-dir/,
  });
  const ok = parseTrainArgs(['--csv-dir', dir, '--csv-region', 'eu-west']);
  t.equal(ok === 'help' ? null : ok.csvRegion, 'eu-west');
});

/**
 * The hold journal (sidecar/src/adapters/redis/hold-journal.ts): what a
 * sidecar writes back after Redis lost its holds. With a file it survives a
 * restart of the sidecar: live holds come back, released and expired ones
 * do not, a torn last line is ignored, and the file is compacted.
 */
import { appendFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { COMPACT_MIN_RECORDS, HoldJournal } from '../../../sidecar/src/adapters/redis/hold-journal.js';

const NOW = 1_000_000;
const hold = (holdId: string, expiresAtMs: number) => ({
  sku: 'S',
  nodeId: 'WH-1',
  qty: 2,
  holdId,
  expiresAtMs,
});

t.test('a reopened journal knows the live holds and nothing else', async (t) => {
  const path = join(mkdtempSync(join(tmpdir(), 'hold-journal-')), 'holds.ndjson');
  const j = new HoldJournal(path);
  j.open(NOW);
  j.hold(hold('kept', NOW + 60_000));
  j.hold(hold('released', NOW + 60_000));
  j.hold(hold('expires', NOW + 5_000));
  j.hold(hold('confirmed', NOW + 1_000));
  j.release('S', 'released');
  j.confirm('S', 'confirmed', NOW + 120_000);
  j.close();
  appendFileSync(path, '["H","S","WH-1",1,"torn"'); // a crash mid-append

  const again = new HoldJournal(path);
  again.open(NOW + 10_000);
  t.same(
    again
      .liveHolds(NOW + 10_000)
      .map((h) => h.holdId)
      .sort(),
    ['confirmed', 'kept'],
    'released, expired and torn records are not replayed',
  );
  t.equal(readFileSync(path, 'utf8').trim().split('\n').length, 2, 'compacted to the live holds on open');
  again.close();
});

t.test('appends are compacted once they outnumber the live holds', async (t) => {
  const path = join(mkdtempSync(join(tmpdir(), 'hold-journal-')), 'holds.ndjson');
  const j = new HoldJournal(path);
  j.open(NOW);
  for (let i = 0; i < COMPACT_MIN_RECORDS; i++) {
    j.hold(hold(`h-${i}`, NOW + 60_000));
    j.release('S', `h-${i}`);
  }
  j.close();
  t.ok(readFileSync(path, 'utf8').split('\n').length < COMPACT_MIN_RECORDS, 'the file stays bounded');
});

t.test('without a path the journal lives in memory', async (t) => {
  const j = new HoldJournal();
  j.open(NOW);
  j.hold(hold('a', NOW + 1_000));
  t.same(
    j.liveHolds(NOW).map((h) => h.holdId),
    ['a'],
  );
  t.same(j.liveHolds(NOW + 1_000), [], 'expired at its expiry');
});

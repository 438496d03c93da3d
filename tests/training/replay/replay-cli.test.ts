import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import t from 'tap';
import { encodeEvent } from '../../../proto/v1/inventory-event.js';
import { parseReplayArgs, runReplayCli } from '../../../training/src/replay/replay-cli.js';
import { ev } from '../../helpers/events.js';

class Capture extends Writable {
  text = '';
  isTTY = false;
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

async function run(argv: string[]) {
  const out = new Capture();
  const err = new Capture();
  const code = await runReplayCli(argv, out, err);
  return { code, out: out.text, err: err.text };
}

t.test('flags are validated at the edge and every error names the flag', async (t) => {
  const cases: [string[], string][] = [
    [['--events', '10'], '--to'],
    [['--to', 'kafka', '--events', '10'], '--brokers'],
    [['--to', 'kafka', '--brokers', 'localhost', '--events', '10'], '--brokers'],
    [['--to', 'memory'], '--events'],
    [['--to', 'memory', '--events', '10', '--file', 'x.ndjson'], '--events'],
    [['--to', 'memory', '--events', 'ten'], '--events'],
    [['--to', 'memory', '--events', '10', '--shuffle-ms', '600000'], '--shuffle-ms'],
    [['--to', 'memory', '--events', '10', '--shuffle-share', '2'], '--shuffle-share'],
    [['--to', 'memory', '--events', '10', '--rate', 'fast'], '--rate'],
    [['--to', 'kafka', '--brokers', 'h:1', '--events', '10', '--verify'], '--verify'],
  ];
  for (const [argv, field] of cases) {
    t.throws(() => parseReplayArgs(argv), { code: 'ATP_ERR_INVALID_FLAG', field }, argv.join(' '));
  }
  const bad = await run(['--to', 'nowhere', '--events', '1']);
  t.equal(bad.code, 2);
  t.match(bad.err, /ATP_ERR_INVALID_FLAG --to/);
});

t.test(
  'a simulated world replayed into memory, duplicated and shuffled, equals the system view',
  async (t) => {
    // The in-memory store applies exactly what the ingester applies; --verify compares with the simulator.
    const r = await run([
      '--to',
      'memory',
      '--events',
      '6000',
      '--seed',
      '4',
      '--skus',
      '200',
      '--duplicate',
      '--shuffle-ms',
      '5000',
      '--verify',
    ]);
    t.equal(r.code, 0, r.err);
    const summary = JSON.parse(r.out);
    t.equal(summary.events, 12_000, 'every event twice');
    t.equal(summary.verified, true);
    t.equal(summary.gapsSkipped, 0);
    t.match(summary.digest, /^[0-9a-f]{64}$/);
    t.match(r.err, /memory \[#+\] 100\.0% 12,000\/12,000/, 'a progress bar on stderr');
    // The digest does not depend on how delivery was perturbed.
    const plain = JSON.parse(
      (await run(['--to', 'memory', '--events', '6000', '--seed', '4', '--skus', '200', '--no-progress']))
        .out,
    );
    t.equal(plain.digest, summary.digest);
  },
);

t.test('a recorded NDJSON file is replayed, and a bad line stops it with its line number', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'replay-'));
  const good = join(dir, 'good.ndjson');
  writeFileSync(
    good,
    `${encodeEvent(ev('receipt', 9, 1, { sku: 'F' }))}\n\n${encodeEvent(ev('sale', 2, 2, { sku: 'F' }))}\n`,
  );
  const r = await run(['--to', 'memory', '--file', good, '--no-progress']);
  t.equal(r.code, 0, r.err);
  t.match(JSON.parse(r.out), { events: 2, pairs: 1, applied: 2 });
  const bad = join(dir, 'bad.ndjson');
  writeFileSync(bad, `${encodeEvent(ev('receipt', 9, 1))}\n{"schema":"inventory.mutation.v1"}\n`);
  const b = await run(['--to', 'memory', '--file', bad, '--no-progress']);
  t.equal(b.code, 2);
  t.match(b.err, /ATP_ERR_REPLAY_BAD_LINE line 2: /);
});

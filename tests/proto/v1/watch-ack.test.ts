/** Finding 1 (issue 16): the ack a sidecar sends (what it serves) builds and parses; garbage is refused naming the field. */
import t from 'tap';
import { parseWatchAck, watchAck } from '../../../proto/v1/watch-ack.js';

t.test('an ack round-trips, with and without a refusal', async (t) => {
  const a = watchAck({ version: 7, contentHash: 'sha256:abc' }, 1_700_000_000_123);
  t.same(parseWatchAck(a.ack), {
    version: 7,
    contentHash: 'sha256:abc',
    appliedAtMs: 1_700_000_000_123,
    refusedCode: null,
    refusedVersion: null,
  });
  const r = watchAck(null, 5, { code: 'ATP_ERR_SNAPSHOT_SIGNATURE_INVALID', version: 9 });
  t.same(parseWatchAck(r.ack), {
    version: 0,
    contentHash: '',
    appliedAtMs: 5,
    refusedCode: 'ATP_ERR_SNAPSHOT_SIGNATURE_INVALID',
    refusedVersion: 9,
  });
});

t.test('bad acks are refused naming the field', async (t) => {
  const field = (raw: unknown) => {
    try {
      parseWatchAck(raw);
      return null;
    } catch (err) {
      return (err as { field?: string }).field;
    }
  };
  t.equal(field({ version: '-1', content_hash: '' }), 'ack.version');
  t.equal(field({ version: '99999999999999999', content_hash: '' }), 'ack.version');
  t.equal(field({ version: '1', content_hash: 'x'.repeat(200) }), 'ack.content_hash');
  t.equal(field({ version: '1', content_hash: 'h', refused_code: '<script>' }), 'ack.refused_code');
  t.equal(field('nope'), 'ack');
});

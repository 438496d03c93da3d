/**
 * Finding 1 (issue 16), the contract side: the forged snapshot that
 * switched ATP off (version 2^53-1, a global kill switch, from a fake watch
 * server) is refused by verifySnapshot whatever it carries: no signature,
 * a key nobody trusts, or even a trusted key jumping absurdly far; a
 * snapshot with the held version and another hash is refused; the next
 * version must chain to the held one; a delta carries the signature of the
 * snapshot it produces; a persisted file edited after signing is refused.
 */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import t from 'tap';
import { generateSigningKeys } from '../../../proto/v1/bundle-signature.js';
import {
  type ControlSnapshot,
  controlSnapshotToJson,
  defaultControlSnapshot,
  parseControlSnapshot,
} from '../../../proto/v1/control-snapshot.js';
import { canonicalSnapshot, snapshotContentHash } from '../../../proto/v1/snapshot-content.js';
import { applySnapshotDelta, diffSnapshots } from '../../../proto/v1/snapshot-delta.js';
import {
  GENESIS_PREV_HASH,
  MAX_VERSION_JUMP,
  signSnapshot,
  verifySnapshot,
} from '../../../proto/v1/snapshot-signature.js';

const keys = generateSigningKeys();
const privateKey = createPrivateKey(keys.privatePem);
const trusted = [createPublicKey(keys.publicPem)];

function content(version: number, prevHash: string, over: Partial<ControlSnapshot> = {}): ControlSnapshot {
  const s = canonicalSnapshot({ ...defaultControlSnapshot('rules-only'), ...over, version, prevHash });
  return { ...s, contentHash: snapshotContentHash(s) };
}

const v1 = signSnapshot(content(1, GENESIS_PREV_HASH), privateKey);
const v2 = signSnapshot(
  content(2, v1.contentHash, { killSwitches: [{ scope: 'region', target: 'eu-west', reason: 'INC-1' }] }),
  privateKey,
);

const codeOf = (f: () => unknown): string | null => {
  try {
    f();
    return null;
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
};

t.test(
  'finding 1: the forged 2^53-1 global kill switch snapshot is refused, however it is dressed',
  async (t) => {
    const forged = content(Number.MAX_SAFE_INTEGER, 'sha256:whatever', {
      killSwitches: [{ scope: 'global', target: '', reason: 'pwned' }],
    });
    t.equal(
      codeOf(() => verifySnapshot(forged, trusted, { held: v2 })),
      'ATP_ERR_SNAPSHOT_VERSION_JUMP',
    );
    const stranger = generateSigningKeys();
    const small = content(3, v2.contentHash, {
      killSwitches: [{ scope: 'global', target: '', reason: 'pwned' }],
    });
    t.equal(
      codeOf(() => verifySnapshot(small, trusted, { held: v2 })),
      'ATP_ERR_SNAPSHOT_UNSIGNED',
      'unsigned',
    );
    t.equal(
      codeOf(() =>
        verifySnapshot(signSnapshot(small, createPrivateKey(stranger.privatePem)), trusted, { held: v2 }),
      ),
      'ATP_ERR_SNAPSHOT_SIGNATURE_INVALID',
      'signed by a key nobody trusts',
    );
    const huge = signSnapshot(content(v2.version + MAX_VERSION_JUMP + 1, 'sha256:x'), privateKey);
    t.equal(
      codeOf(() => verifySnapshot(huge, trusted, { held: v2 })),
      'ATP_ERR_SNAPSHOT_VERSION_JUMP',
      'even a trusted key cannot move a sidecar absurdly far ahead',
    );
    const poison = signSnapshot(content(Number.MAX_SAFE_INTEGER, 'sha256:x'), privateKey);
    t.equal(
      codeOf(() => verifySnapshot(poison, trusted, { held: null })),
      'ATP_ERR_SNAPSHOT_VERSION_JUMP',
      'nor poison a sidecar that holds nothing',
    );
    t.equal(
      codeOf(() => verifySnapshot(v1, [], {})),
      'ATP_ERR_SNAPSHOT_SIGNATURE_INVALID',
      'no trusted key: nothing verifies',
    );
  },
);

t.test(
  'finding 1: same version, another hash is a fork; the next version must chain to the held one',
  async (t) => {
    t.same(verifySnapshot(v2, trusted, { held: v1 }), { keyId: keys.keyId, same: false });
    t.same(verifySnapshot(v2, trusted, { held: v2 }), { keyId: keys.keyId, same: true });
    const other = signSnapshot(
      content(2, v1.contentHash, { holds: [{ sku: 'X', reason: 'r' }] }),
      privateKey,
    );
    t.equal(
      codeOf(() => verifySnapshot(other, trusted, { held: v2 })),
      'ATP_ERR_SNAPSHOT_FORK',
    );
    const unchained = signSnapshot(content(3, 'sha256:not-v2'), privateKey);
    t.equal(
      codeOf(() => verifySnapshot(unchained, trusted, { held: v2 })),
      'ATP_ERR_SNAPSHOT_FORK',
    );
    t.equal(
      codeOf(() => verifySnapshot(v1, trusted, { held: v2 })),
      'ATP_ERR_SNAPSHOT_STALE',
    );
    const jump = signSnapshot(content(9, 'sha256:v8'), privateKey);
    t.same(verifySnapshot(jump, trusted, { held: v2 }).same, false, 'a coalesced jump cannot check the link');
    const badGenesis = signSnapshot(content(1, 'sha256:x'), privateKey);
    t.equal(
      codeOf(() => verifySnapshot(badGenesis, trusted)),
      'ATP_ERR_SNAPSHOT_FORK',
    );
  },
);

t.test(
  'finding 1: content edited after signing (a persisted file) is refused; the JSON form round-trips',
  async (t) => {
    const json = JSON.parse(JSON.stringify(controlSnapshotToJson(v2)));
    t.ok(json.signature.key_id.startsWith('ed25519:'));
    t.equal(json.prev_hash, v1.contentHash);
    const back = parseControlSnapshot(json);
    t.same(
      verifySnapshot(back, trusted, { held: null }).keyId,
      keys.keyId,
      'a persisted file verifies on load',
    );
    json.kill_switches = [];
    t.equal(
      codeOf(() => verifySnapshot(parseControlSnapshot(json), trusted)),
      'ATP_ERR_SNAPSHOT_HASH_MISMATCH',
    );
    const rehashed = parseControlSnapshot(json);
    rehashed.contentHash = snapshotContentHash(rehashed);
    t.equal(
      codeOf(() => verifySnapshot(rehashed, trusted)),
      'ATP_ERR_SNAPSHOT_SIGNATURE_INVALID',
      're-hashing the edit does not help: the signature covers the hash',
    );
    t.equal(
      snapshotContentHash(v2),
      snapshotContentHash({ ...v2, signature: undefined, prevHash: undefined }),
    );
  },
);

t.test('finding 1: a delta carries the signature of the snapshot it produces', async (t) => {
  const delta = JSON.parse(JSON.stringify(diffSnapshots(v1, v2)));
  t.equal(delta.prev_hash, v1.contentHash);
  t.ok(typeof delta.signature.value === 'string');
  const out = applySnapshotDelta(v1, delta);
  t.same(verifySnapshot(out, trusted, { held: v1 }), { keyId: keys.keyId, same: false });
  delete delta.signature;
  t.equal(
    codeOf(() => verifySnapshot(applySnapshotDelta(v1, delta), trusted, { held: v1 })),
    'ATP_ERR_SNAPSHOT_UNSIGNED',
  );
  const unsigned = content(5, 'sha256:a');
  const plain = applySnapshotDelta(v1, JSON.parse(JSON.stringify(diffSnapshots(v1, unsigned))));
  t.equal(plain.signature, undefined, "the base's signature never carries over");
});

/**
 * The sidecar refuses a bundle unless manifest.sig is an ed25519 signature
 * by a trusted key over the exact manifest bytes and the model matches the
 * manifest's sha256: unsigned, tampered (model or manifest), signed by an
 * unknown key, or with a garbled signature file, each gets a coded error.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { generateSigningKeys, parsePublicKey } from '../../../proto/v1/bundle-signature.js';
import { createSignatureVerifier, verifyBundleDir } from '../../../sidecar/src/control/bundle-verifier.js';
import { readModelBundle } from '../../../sidecar/src/model/model-bundle.js';
import { tempDir, writeFakeBundle } from '../../control-plane/helpers/control-world.js';

const keys = generateSigningKeys();
const trusted = [parsePublicKey(keys.publicPem, 'test')];

t.test('a signed, intact bundle verifies and names the key', async (t) => {
  const dir = writeFakeBundle(join(tempDir(t), 'b'), 'm1', keys);
  const v = await verifyBundleDir(dir, trusted);
  t.equal(v.manifest.version, 'm1');
  t.equal(v.keyId, keys.keyId);
});

t.test('refusals, each with its code and the file to blame', async (t) => {
  const root = tempDir(t);
  const other = generateSigningKeys();
  const cases: [string, (dir: string) => void, string, string | undefined][] = [
    ['unsigned', (d) => rmSync(join(d, 'manifest.sig')), 'ATP_ERR_MODEL_SIGNATURE_INVALID', 'manifest.sig'],
    [
      'model bytes tampered',
      (d) => writeFileSync(join(d, 'model.onnx'), 'evil'),
      'ATP_ERR_MODEL_CHECKSUM_MISMATCH',
      'model_sha256',
    ],
    [
      'manifest tampered (threshold lowered, sha256 left alone)',
      (d) => {
        const m = JSON.parse(readFileSync(join(d, 'manifest.json'), 'utf8'));
        m.thresholds.checkout.cold = 0.01;
        writeFileSync(join(d, 'manifest.json'), JSON.stringify(m));
      },
      'ATP_ERR_MODEL_SIGNATURE_INVALID',
      'manifest.sig',
    ],
    [
      'manifest re-serialized (same JSON, other bytes)',
      (d) =>
        writeFileSync(
          join(d, 'manifest.json'),
          JSON.stringify(JSON.parse(readFileSync(join(d, 'manifest.json'), 'utf8')), null, 2),
        ),
      'ATP_ERR_MODEL_SIGNATURE_INVALID',
      'manifest.sig',
    ],
    [
      'signed by an unknown key',
      (d) => {
        rmSync(join(d, 'manifest.sig'));
        writeFakeBundle(d, 'm1', other);
      },
      'ATP_ERR_MODEL_SIGNATURE_INVALID',
      'manifest.sig',
    ],
    [
      'garbled signature file',
      (d) => writeFileSync(join(d, 'manifest.sig'), 'not base64!!'),
      'ATP_ERR_MODEL_SIGNATURE_INVALID',
      'manifest.sig',
    ],
    [
      'manifest is not a bundle manifest',
      (d) => writeFileSync(join(d, 'manifest.json'), '{"schema":"x"}'),
      'ATP_ERR_MODEL_MANIFEST_INVALID',
      'schema',
    ],
    ['no manifest', (d) => rmSync(join(d, 'manifest.json')), 'ATP_ERR_MODEL_NOT_FOUND', undefined],
  ];
  for (const [what, edit, code, field] of cases) {
    const dir = writeFakeBundle(join(root, what.replace(/\W+/g, '-')), 'm1', keys);
    edit(dir);
    const err = (await verifyBundleDir(dir, trusted).catch((e: unknown) => e)) as {
      code: string;
      field?: string;
      message: string;
    };
    t.equal(err.code, code, what);
    if (field !== undefined) t.equal(err.field, field, `${what}: field`);
  }
  const none = await verifyBundleDir(writeFakeBundle(join(root, 'nokeys'), 'm1', keys), []).catch(
    (e: Error) => e,
  );
  t.match((none as Error).message, /trusts no signing key/);
});

t.test('as the model registry seam, the verifier refuses before any model bytes are used', async (t) => {
  const dir = writeFakeBundle(join(tempDir(t), 'b'), 'm1', null);
  const err = (await readModelBundle(dir, createSignatureVerifier(trusted)).catch((e: unknown) => e)) as {
    code: string;
    message: string;
  };
  t.equal(err.code, 'ATP_ERR_MODEL_SIGNATURE_INVALID');
  t.match(err.message, /unsigned/);
});

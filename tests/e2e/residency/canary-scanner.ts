/**
 * Scans artifacts for canary values: each canary is looked for as UTF-8,
 * UTF-16LE, base64 (the three alignments) and percent-encoded text, so a
 * canary that crossed a border re-encoded is still found. Artifacts are
 * named; the result lists every hit with the artifact and the encoding.
 */

export interface Artifact {
  /** Where it was read from, e.g. `topic atp.decisions.us-east` or `GET us-east /metrics`. */
  name: string;
  bytes: Buffer;
}

export interface CanaryHit {
  artifact: string;
  canary: string;
  encoding: string;
}

export interface ScanResult {
  artifacts: number;
  bytes: number;
  hits: CanaryHit[];
}

/** Needles of one canary: [encoding, bytes]. */
function needles(canary: string): [string, Buffer][] {
  const out: [string, Buffer][] = [
    ['utf8', Buffer.from(canary, 'utf8')],
    ['utf16le', Buffer.from(canary, 'utf16le')],
    ['percent', Buffer.from(encodeURIComponent(canary), 'utf8')],
  ];
  // A substring of base64 that depends only on the canary, for each of the three byte alignments.
  for (let pad = 0; pad < 3; pad++) {
    const b64 = Buffer.concat([Buffer.alloc(pad, 0x20), Buffer.from(canary, 'utf8')]).toString('base64');
    const stable = b64.slice(Math.ceil((pad * 4) / 3) + 1, Math.floor(((pad + canary.length) * 4) / 3) - 1);
    if (stable.length >= 8) out.push([`base64+${pad}`, Buffer.from(stable, 'utf8')]);
  }
  return out;
}

export function scanArtifacts(artifacts: readonly Artifact[], canaries: readonly string[]): ScanResult {
  const hits: CanaryHit[] = [];
  let bytes = 0;
  const all = canaries.map((c) => [c, needles(c)] as const);
  for (const a of artifacts) {
    bytes += a.bytes.length;
    for (const [canary, list] of all) {
      for (const [encoding, needle] of list) {
        if (a.bytes.includes(needle)) hits.push({ artifact: a.name, canary, encoding });
      }
    }
  }
  return { artifacts: artifacts.length, bytes, hits };
}

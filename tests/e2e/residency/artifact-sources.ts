/**
 * Where the canary test reads artifacts from: every record of a topic (kcat
 * from the beginning to the end, no consumer group), the topics a broker
 * holds, the files under a folder.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const KCAT_TIMEOUT_MS = 30_000;

/** Every record of `topic` (key and value), read with kcat from the beginning to the end. */
export function kcatTopic(brokers: string[], topic: string): Buffer {
  const r = spawnSync('kcat', ['-b', brokers[0]!, '-C', '-t', topic, '-e', '-q', '-f', '%k\t%s\n'], {
    timeout: KCAT_TIMEOUT_MS,
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`kcat ${topic}: ${r.stderr.toString()}`);
  return r.stdout;
}

export function kcatTopics(brokers: string[]): string[] {
  const r = spawnSync('kcat', ['-b', brokers[0]!, '-L', '-J'], { timeout: KCAT_TIMEOUT_MS });
  const meta = JSON.parse(r.stdout.toString()) as { topics: { topic: string }[] };
  return meta.topics.map((x) => x.topic).filter((x) => !x.startsWith('__'));
}

export function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

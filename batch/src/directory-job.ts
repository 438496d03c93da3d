/**
 * Publishes the node directory of a region: every entry validated first (a
 * directory with one bad entry is refused whole: a partial directory would
 * silently make nodes unserviceable), then written as a new version and
 * switched to.
 */

import { AtpError } from '@mercato/platform/errors';
import { encodeNodeInfo, type NodeInfo } from '@mercato/proto/v1/node-directory';
import { BATCH_ERR } from './batch-errors.js';
import { contentVersion } from './batch-version.js';
import type { NodeSetPublisher } from './ports.js';

export interface DirectoryJobResult {
  version: string;
  nodes: number;
  byType: Record<string, number>;
}

export async function runDirectoryJob(
  region: string,
  nodes: readonly NodeInfo[],
  publisher: NodeSetPublisher,
  nowMs: number,
): Promise<DirectoryJobResult> {
  const seen = new Set<string>();
  const byType: Record<string, number> = {};
  for (const n of nodes) {
    if (n.region !== region) {
      throw new AtpError(
        BATCH_ERR.INPUT_INVALID,
        `node ${n.nodeId}: region ${n.region} is not ${region}`,
        'region',
      );
    }
    if (seen.has(n.nodeId)) {
      throw new AtpError(BATCH_ERR.INPUT_INVALID, `node ${n.nodeId} appears twice`, 'node_id');
    }
    seen.add(n.nodeId);
    byType[n.nodeType] = (byType[n.nodeType] ?? 0) + 1;
  }
  if (nodes.length === 0) {
    throw new AtpError(BATCH_ERR.EMPTY_WINDOW, 'the directory is empty; refusing to publish an empty one');
  }
  const sorted = [...nodes].sort((a, b) => (a.nodeId < b.nodeId ? -1 : 1));
  // Content-addressed: the same directory is the same version whenever it is published.
  const version = contentVersion(sorted.map(encodeNodeInfo).join('\n'));
  try {
    await publisher.publishDirectory(version, sorted, nowMs);
  } catch (err) {
    throw new AtpError(BATCH_ERR.PUBLISH_FAILED, (err as Error).message, undefined, { cause: err });
  }
  return { version, nodes: sorted.length, byType };
}

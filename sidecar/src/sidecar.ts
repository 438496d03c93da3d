/**
 * Factory for the sidecar's `serve` mode: wires stores, the decision engine
 * and the HTTP and gRPC edges. Nothing starts at import; `start()` binds the
 * ports, `stop()` releases them.
 */
import type { Mode } from '../../proto/v1/decision.js';
import { GrpcEdge } from './adapters/grpc/grpc-server.js';
import { HttpEdge } from './adapters/http/http-server.js';
import { MemoryFeatureStore } from './adapters/memory/memory-feature-store.js';
import { MemoryNodeDirectory } from './adapters/memory/memory-node-directory.js';
import { DecisionEngine } from './decision/decision-engine.js';
import type { Clock } from './decision/ports.js';

export const RULES_ONLY_MODEL_VERSION = 'rules-only';
export const DEFAULT_RULES_VERSION = 'rules-v0';

export interface SidecarConfig {
  region: string;
  host?: string;
  httpPort?: number;
  grpcPort?: number;
  mode?: Mode;
  clock?: Clock;
  features?: MemoryFeatureStore;
  directory?: MemoryNodeDirectory;
}

export interface Sidecar {
  readonly features: MemoryFeatureStore;
  readonly directory: MemoryNodeDirectory;
  readonly engine: DecisionEngine;
  readonly http: HttpEdge;
  readonly grpc: GrpcEdge;
  start(): Promise<{ httpPort: number; grpcPort: number }>;
  stop(): Promise<void>;
}

export function createSidecar(config: SidecarConfig): Sidecar {
  const features = config.features ?? new MemoryFeatureStore();
  const directory = config.directory ?? new MemoryNodeDirectory();
  const engine = new DecisionEngine({
    features,
    directory,
    clock: config.clock ?? Date.now,
    modelVersion: RULES_ONLY_MODEL_VERSION,
    rulesVersion: DEFAULT_RULES_VERSION,
    mode: config.mode ?? 'enforce',
  });
  const http = new HttpEdge({
    engine,
    region: config.region,
    host: config.host,
    port: config.httpPort,
    isReady: () => true,
    filterSnapshot: () => ({
      version: 1,
      model_version: RULES_ONLY_MODEL_VERSION,
      rules_version: DEFAULT_RULES_VERSION,
    }),
  });
  const grpc = new GrpcEdge({ engine, region: config.region, host: config.host, port: config.grpcPort });
  return {
    features,
    directory,
    engine,
    http,
    grpc,
    async start() {
      const httpPort = await http.start();
      const grpcPort = await grpc.start();
      return { httpPort, grpcPort };
    },
    async stop() {
      await Promise.all([http.stop(), grpc.stop()]);
    },
  };
}

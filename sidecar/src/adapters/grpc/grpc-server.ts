/**
 * gRPC edge: mercato.atp.v1.AvailabilityService (Check, CheckBatch) on
 * @grpc/grpc-js. Requests go through the same parser as the HTTP edge, so a
 * bad field gets INVALID_ARGUMENT with the same message naming it.
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { checkResponseToJson, parseCheckRequest } from '../../../../proto/v1/decision.js';
import { ContractError } from '../../../../proto/v1/validate.js';
import type { DecisionEngine } from '../../decision/decision-engine.js';
import { toAtpError } from '../../errors.js';

export const ATP_PROTO_PATH = fileURLToPath(new URL('../../../../proto/v1/atp.proto', import.meta.url));
export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

export function loadAtpPackage(): grpc.GrpcObject {
  const def = protoLoader.loadSync(ATP_PROTO_PATH, PROTO_LOADER_OPTIONS);
  return grpc.loadPackageDefinition(def);
}

export function availabilityServiceDefinition(): grpc.ServiceDefinition {
  const pkg = loadAtpPackage() as unknown as {
    mercato: { atp: { v1: { AvailabilityService: grpc.ServiceClientConstructor } } };
  };
  return pkg.mercato.atp.v1.AvailabilityService.service;
}

export interface GrpcEdgeOptions {
  engine: DecisionEngine;
  host?: string;
  port?: number;
  region: string;
}

export class GrpcEdge {
  private server: grpc.Server | null = null;
  port = 0;

  constructor(private readonly opts: GrpcEdgeOptions) {}

  async start(): Promise<number> {
    const server = new grpc.Server();
    server.addService(availabilityServiceDefinition(), {
      Check: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) =>
        this.handle(call.request, false, cb),
      CheckBatch: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) =>
        this.handle(call.request, true, cb),
    });
    const addr = `${this.opts.host ?? '127.0.0.1'}:${this.opts.port ?? 0}`;
    this.port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(addr, grpc.ServerCredentials.createInsecure(), (err, port) =>
        err ? reject(err) : resolve(port),
      );
    });
    this.server = server;
    return this.port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server === null) return;
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  }

  private handle(raw: unknown, batch: boolean, cb: grpc.sendUnaryData<unknown>): void {
    Promise.resolve()
      .then(async () => {
        // proto3 has no "absent" for strings: an empty region means "use the sidecar's own".
        const msg = raw as Record<string, unknown>;
        const normalized = msg.region === '' ? { ...msg, region: undefined } : msg;
        const request = parseCheckRequest(normalized, { region: this.opts.region });
        if (batch && request.channel !== 'browse')
          throw new ContractError('channel', 'CheckBatch serves "browse"');
        return checkResponseToJson(await this.opts.engine.check(request));
      })
      .then(
        (res) => cb(null, res),
        (err) => {
          const e = toAtpError(err);
          const md = new grpc.Metadata();
          md.set('atp-error-code', e.code);
          if (e.field !== undefined) md.set('atp-error-field', e.field);
          cb({ code: e.spec.grpcStatus, details: e.message, metadata: md });
        },
      );
  }
}

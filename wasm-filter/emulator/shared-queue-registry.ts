/**
 * Shared queues: named per VM id, registered by one VM (which is told when
 * data arrives, through proxy_on_queue_ready) and resolvable by any VM given
 * the same registry — proxy-wasm-cpp-host's SharedQueue, minus threads.
 */
import { WasmResult, type WasmResultCode } from './abi.js';

export type QueueReadyListener = (token: number) => void;

interface Queue {
  vmId: string;
  name: string;
  items: Uint8Array[];
  onReady: QueueReadyListener;
}

export class SharedQueueRegistry {
  private readonly byToken = new Map<number, Queue>();
  private readonly tokens = new Map<string, number>();
  private nextToken = 1;

  /** Registering an existing name re-targets notifications and keeps pending data (like the host). */
  register(vmId: string, name: string, onReady: QueueReadyListener): number {
    const key = `${vmId}\u0000${name}`;
    const existing = this.tokens.get(key);
    if (existing !== undefined) {
      const queue = this.byToken.get(existing);
      if (queue !== undefined) queue.onReady = onReady;
      return existing;
    }
    const token = this.nextToken++;
    this.tokens.set(key, token);
    this.byToken.set(token, { vmId, name, items: [], onReady });
    return token;
  }

  resolve(vmId: string, name: string): number | undefined {
    return this.tokens.get(`${vmId}\u0000${name}`);
  }

  enqueue(token: number, data: Uint8Array): WasmResultCode {
    const queue = this.byToken.get(token);
    if (queue === undefined) return WasmResult.NotFound;
    queue.items.push(data.slice());
    queue.onReady(token);
    return WasmResult.Ok;
  }

  dequeue(token: number): { result: WasmResultCode; data?: Uint8Array } {
    const queue = this.byToken.get(token);
    if (queue === undefined) return { result: WasmResult.NotFound };
    const data = queue.items.shift();
    if (data === undefined) return { result: WasmResult.Empty };
    return { result: WasmResult.Ok, data };
  }
}

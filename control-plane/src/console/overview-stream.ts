/**
 * The overview's server-sent event streams (GET /console/api/overview):
 * first one `backlog` event with the points of the asked time range, then
 * one `point` event per region and scrape tick, and a comment line every
 * HEARTBEAT_MS so proxies keep the stream open. The page reads it with
 * fetch() and a bearer token (EventSource cannot send one), so the stream
 * is as CSRF-safe as the rest of the admin API. stop() ends every stream
 * (the server's stop then has nothing left to wait for).
 */
import type { ServerResponse } from 'node:http';
import type { OverviewPoint, OverviewSeries } from './overview-series.js';

export const HEARTBEAT_MS = 15_000;
/** Open overview streams at once (each costs one listener and one socket). */
export const MAX_OVERVIEW_STREAMS = 64;
export const OVERVIEW_RANGES_S = [60, 300, 900] as const;

export class OverviewStreams {
  private readonly open = new Set<ServerResponse>();

  get count(): number {
    return this.open.size;
  }

  /** False when MAX_OVERVIEW_STREAMS are open (the caller answers 429). */
  serve(
    res: ServerResponse,
    series: OverviewSeries,
    rangeS: number,
    headers: Record<string, string>,
  ): boolean {
    if (this.open.size >= MAX_OVERVIEW_STREAMS) return false;
    res.writeHead(200, {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    });
    const send = (event: string, data: unknown) =>
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    send('backlog', { range_s: rangeS, points: series.since(Date.now() - rangeS * 1_000).map(pointJson) });
    const unsubscribe = series.subscribe((p) => send('point', pointJson(p)));
    const beat = setInterval(() => res.write(': heartbeat\n\n'), HEARTBEAT_MS);
    beat.unref();
    this.open.add(res);
    res.on('close', () => {
      clearInterval(beat);
      unsubscribe();
      this.open.delete(res);
    });
    return true;
  }

  stop(): void {
    for (const res of this.open) res.end();
    this.open.clear();
  }
}

export function pointJson(p: OverviewPoint): Record<string, unknown> {
  return {
    region: p.region,
    at_ms: p.atMs,
    figures: p.figures,
    hot_skus: p.hotSkus,
    targets_up: p.targetsUp,
    targets: p.targets,
  };
}

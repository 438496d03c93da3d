/**
 * The console's live side, owned by the control plane: the scraper of the
 * configured targets (metrics-scraper.ts) and the open overview streams
 * (overview-stream.ts). start() scrapes once and then every interval;
 * stop() ends the streams first (so the admin server's stop does not wait
 * on them), then the scraper. Idempotent.
 */
import { MetricsScraper, type ScrapeTarget } from './metrics-scraper.js';
import { OverviewStreams } from './overview-stream.js';

export interface ConsoleFeed {
  readonly scraper: MetricsScraper;
  readonly streams: OverviewStreams;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function createConsoleFeed(
  targets: readonly ScrapeTarget[],
  opts: { intervalMs?: number; onError?: (t: ScrapeTarget, err: Error) => void } = {},
): ConsoleFeed {
  const scraper = new MetricsScraper({
    targets,
    ...(opts.intervalMs === undefined ? {} : { intervalMs: opts.intervalMs }),
    ...(opts.onError === undefined ? {} : { onError: opts.onError }),
  });
  const streams = new OverviewStreams();
  return {
    scraper,
    streams,
    start: () => scraper.start(),
    async stop() {
      streams.stop();
      await scraper.stop();
    },
  };
}

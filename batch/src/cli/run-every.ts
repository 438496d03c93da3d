/**
 * A batch command's schedule: run once now (a failure fails the command),
 * and with `--every-s N` again every N seconds until SIGINT or SIGTERM. A
 * later run that fails is reported and the next one retries: every job here
 * finishes what a failed run left half done.
 */
import { waitForStopSignal } from '@mercato/platform/lifecycle';
import { Periodic } from '@mercato/platform/periodic';

export async function runEvery(
  name: string,
  everyS: number | undefined,
  once: () => Promise<void>,
  onFailed: (err: Error) => void,
): Promise<void> {
  if (everyS === undefined) return once();
  const periodic = new Periodic({
    name,
    intervalMs: everyS * 1000,
    run: once,
    onError: (err) => onFailed(err as Error),
  });
  try {
    await periodic.start(true);
    await waitForStopSignal();
  } finally {
    await periodic.stop();
  }
}

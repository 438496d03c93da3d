/**
 * Process lifecycle helpers shared by the long-running entry points (sidecar
 * `serve`, `ingest`, the control plane) and by stop paths that must not hang.
 */

/** Resolves on the first SIGTERM or SIGINT, or when `until` settles (tests), and removes its listeners. */
export function waitForStopSignal(until?: Promise<unknown>): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      process.off('SIGTERM', done);
      process.off('SIGINT', done);
      resolve();
    };
    process.once('SIGTERM', done);
    process.once('SIGINT', done);
    until?.then(done, done);
  });
}

/**
 * Waits for `step` at most `deadlineMs`: 'done' when it resolved in time,
 * 'late' otherwise; a rejection in time is passed on. The step itself is not
 * cancelled.
 */
export async function settleWithin(step: Promise<unknown>, deadlineMs: number): Promise<'done' | 'late'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), deadlineMs);
  });
  try {
    return await Promise.race([step.then(() => 'done' as const), late]);
  } finally {
    clearTimeout(timer);
  }
}

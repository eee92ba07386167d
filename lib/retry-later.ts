/**
 * Keep trying a job in the background until it succeeds: the first retry after
 * `firstDelayMs`, each next one twice as late, up to `maxDelayMs` apart. The first failure is
 * logged as a warning, the success after failures as info; nothing in between (one line per
 * outage, not one per try). `cancel()` stops it (a node that stops); the timers never keep a
 * process alive.
 */
export interface RetryLater {
  /** Resolves true once the job succeeded, false when cancelled first. */
  done: Promise<boolean>;
  cancel(): void;
}

interface Logger {
  info(...a: unknown[]): void;
  warn(...a: unknown[]): void;
}

export function retryLater(
  what: string,
  logger: Logger,
  job: () => Promise<unknown>,
  { firstDelayMs = 500, maxDelayMs = 30_000 } = {},
): RetryLater {
  let cancelled = false;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;
  const done = (async () => {
    // `cancelled` is set by cancel(), between the awaits.
    for (let attempt = 0, delay = firstDelayMs; ; attempt++, delay = Math.min(maxDelayMs, delay * 2)) {
      if (cancelled) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, delay);
        timer.unref();
      });
      if (cancelled) break;
      try {
        await job();
        if (attempt > 0) logger.info(`${what}: done after ${attempt + 1} tries.`);
        return true;
      } catch (err) {
        if (attempt === 0) logger.warn(`${what} failed (${(err as Error)?.message ?? err}); retrying in the background until it succeeds.`);
      }
    }
    return false;
  })();
  return {
    done,
    cancel() {
      cancelled = true;
      clearTimeout(timer);
      wake?.();
    },
  };
}

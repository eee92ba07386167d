/**
 * A background job on a node: `job` runs every `everyMs`; a failure is logged as a warning
 * (`what` failed) and the next run comes anyway. The timer is unref'd, so it never keeps a
 * process alive; stop it with clearInterval.
 */
export function every(everyMs: number, what: string, logger: { warn(...a: unknown[]): void }, job: () => Promise<unknown>): NodeJS.Timeout {
  const timer = setInterval(() => {
    job().catch((err: unknown) => logger.warn(`${what} failed:`, err));
  }, everyMs);
  timer.unref();
  return timer;
}

/**
 * Poll `check` until it holds (for scripts and tests that wait on a cluster): a check that
 * throws counts as "not yet"; after `timeoutMs` the wait fails, naming what it waited for.
 */
export interface UntilOptions {
  timeoutMs?: number;
  intervalMs?: number;
}

export async function until(
  what: string,
  check: () => Promise<boolean> | boolean,
  { timeoutMs = 15_000, intervalMs = 100 }: UntilOptions = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (
    !(await Promise.resolve()
      .then(check)
      .catch(() => false))
  ) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

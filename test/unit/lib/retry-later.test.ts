import { retryLater } from "../../../lib/retry-later.ts";
import { until } from "../../../scripts/support/until.ts";

const quiet = () => ({
  lines: [] as string[],
  info(...a: unknown[]) {
    this.lines.push(`info ${a.join(" ")}`);
  },
  warn(...a: unknown[]) {
    this.lines.push(`warn ${a.join(" ")}`);
  },
});

describe("retryLater", () => {
  test("tries until the job succeeds, logging the first failure and the recovery once each", async () => {
    const logger = quiet();
    let calls = 0;
    const r = retryLater(
      "Releasing stock",
      logger,
      async () => {
        if (++calls < 4) throw new Error("database down");
      },
      { firstDelayMs: 1, maxDelayMs: 4 },
    );
    await expect(r.done).resolves.toBe(true);
    expect(calls).toBe(4);
    expect(logger.lines).toEqual([
      expect.stringMatching(/^warn Releasing stock failed \(database down\); retrying/),
      "info Releasing stock: done after 4 tries.",
    ]);
  });

  test("cancel stops it before the next try", async () => {
    let calls = 0;
    const r = retryLater(
      "Never",
      quiet(),
      async () => {
        calls++;
        throw new Error("down");
      },
      { firstDelayMs: 1, maxDelayMs: 1000 },
    );
    await until("a few tries", () => calls >= 2, { intervalMs: 1 });
    r.cancel();
    await expect(r.done).resolves.toBe(false);
    const seen = calls;
    await new Promise((res) => setTimeout(res, 50)); // a fixed wait on purpose: it proves that no try follows the cancel
    expect(calls).toBe(seen);
  });
});

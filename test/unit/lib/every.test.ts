import { every } from "../../../lib/every.ts";
import { until } from "../../../scripts/support/until.ts";

test("every: runs the job on its interval, logs a failure and runs again; unref'd", async () => {
  const warnings: unknown[][] = [];
  let runs = 0;
  const timer = every(5, "Sweeping", { warn: (...a: unknown[]) => void warnings.push(a) }, async () => {
    runs++;
    if (runs === 1) throw new Error("database away");
  });
  try {
    expect(timer.hasRef()).toBe(false);
    await until("three runs", () => runs >= 3, { intervalMs: 5 });
    expect(warnings).toEqual([["Sweeping failed:", new Error("database away")]]);
  } finally {
    clearInterval(timer);
  }
});

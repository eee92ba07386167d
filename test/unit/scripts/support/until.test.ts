import { until } from "../../../../scripts/support/until.ts";

describe("until", () => {
  test("returns as soon as the check holds, counting throws as not yet", async () => {
    let calls = 0;
    await until(
      "the third call",
      () => {
        calls++;
        if (calls === 1) throw new Error("not up");
        return calls === 3;
      },
      { intervalMs: 1 },
    );
    expect(calls).toBe(3);
  });

  test("fails after the timeout, naming what it waited for", async () => {
    const started = Date.now();
    await expect(until("the impossible", async () => false, { timeoutMs: 30, intervalMs: 5 })).rejects.toThrow(
      "timed out after 30 ms waiting for the impossible",
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(30);
  });
});

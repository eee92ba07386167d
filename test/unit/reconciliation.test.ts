import {
  MIN_GRACE_MS,
  RECONCILE_BATCH,
  RECONCILE_EVERY_MS,
  RESERVATION_STATES,
  dueBefore,
  graceMs,
  isDue,
  planReleases,
  reservationState,
  verdict,
} from "../../domain/reconciliation.ts";
import { ORDER_STATUSES } from "../../domain/order-status.ts";

const MINUTE = 60_000;

describe("reservation reconciliation rules", () => {
  test("the grace period is at least 10 minutes and at least twice the request timeout", () => {
    expect(MIN_GRACE_MS).toBe(10 * MINUTE);
    expect(graceMs(10_000)).toBe(10 * MINUTE);
    expect(graceMs(5 * MINUTE)).toBe(10 * MINUTE);
    expect(graceMs(10 * MINUTE)).toBe(20 * MINUTE);
    // The job runs more often than the grace period, in batches the orders action accepts.
    expect(RECONCILE_EVERY_MS).toBeLessThan(MIN_GRACE_MS);
    expect(RECONCILE_BATCH).toBe(500);
  });

  test("only reservations older than the grace period are due; the boundary itself is not", () => {
    const now = new Date("2026-12-01T12:00:00.000Z");
    const grace = 10 * MINUTE;
    expect(dueBefore(now, grace).toISOString()).toBe("2026-12-01T11:50:00.000Z");
    expect(isDue(new Date("2026-12-01T11:49:59.999Z"), now, grace)).toBe(true);
    expect(isDue(new Date("2026-12-01T11:50:00.000Z"), now, grace)).toBe(false);
    expect(isDue(new Date("2026-12-01T11:59:00.000Z"), now, grace)).toBe(false);
    expect(isDue(new Date("2026-11-01T00:00:00.000Z"), now, grace)).toBe(true);
    // A reservation "from the future" (another node's clock ahead) is never due.
    expect(isDue(new Date("2026-12-01T12:05:00.000Z"), now, grace)).toBe(false);
  });

  test("an order's status maps to the reservation's state: only cancelled and missing differ from active", () => {
    expect(RESERVATION_STATES).toEqual(["active", "cancelled", "missing"]);
    expect(reservationState(undefined)).toBe("missing");
    expect(reservationState(null)).toBe("missing");
    expect(reservationState("cancelled")).toBe("cancelled");
    for (const status of ORDER_STATUSES.filter((s) => s !== "cancelled")) expect(reservationState(status)).toBe("active");
  });

  test("release for missing and cancelled orders, keep for everything else (never release on doubt)", () => {
    expect(verdict("missing")).toBe("release");
    expect(verdict("cancelled")).toBe("release");
    for (const doubt of ["active", "Missing", "", "pending", "delivered", undefined, null, 0, {}, ["missing"]]) expect(verdict(doubt)).toBe("keep");
  });

  test("a batch's plan: each id by its own answer; unanswered ids and unusable answers keep their stock", () => {
    const ids = ["a", "b", "c", "d", "e"];
    const plan = planReleases(ids, { a: "missing", b: "active", c: "cancelled", d: "lost", f: "missing" });
    expect(plan).toEqual({
      release: [
        { id: "a", state: "missing" },
        { id: "c", state: "cancelled" },
      ],
      keep: ["b", "d", "e"],
    });
    for (const nothing of [null, undefined, {}, "missing", ["missing", "missing"]]) {
      expect(planReleases(ids, nothing as never)).toEqual({ release: [], keep: ids });
    }
    // An inherited property is not an answer.
    expect(planReleases(["toString", "constructor"], {}).release).toEqual([]);
    expect(planReleases([], { a: "missing" })).toEqual({ release: [], keep: [] });
  });
});

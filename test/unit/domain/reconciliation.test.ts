import {
  MIN_GRACE_MS,
  RECONCILE_BATCH,
  RECONCILE_EVERY_MS,
  RESERVATION_STATES,
  dueBefore,
  graceMs,
  SETTLING_STATUSES,
  isDue,
  mayStillReleaseStock,
  planReconciliation,
  reservationState,
  verdict,
} from "../../../domain/reconciliation.ts";
import { ORDER_STATUSES, allowedNext, releasesStock, type OrderStatus } from "../../../domain/order-status.ts";

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

  test("an order's status maps to the reservation's state: open while it may be cancelled, final when it never can", () => {
    expect(RESERVATION_STATES).toEqual(["open", "final", "cancelled", "missing"]);
    expect(reservationState(undefined)).toBe("missing");
    expect(reservationState(null)).toBe("missing");
    expect(reservationState("cancelled")).toBe("cancelled");
    expect(reservationState("pending")).toBe("open");
    expect(reservationState("paid")).toBe("open");
    // shipped → delivered only: a shipped order can no longer be cancelled.
    expect(reservationState("shipped")).toBe("final");
    expect(reservationState("delivered")).toBe("final");
    expect(SETTLING_STATUSES).toEqual(["shipped", "delivered"]);
    // A status this code does not know is checked again, never settled.
    for (const unknown of ["lost", "", "Delivered", "returned"]) expect(reservationState(unknown)).toBe("open");
    for (const status of ORDER_STATUSES) expect(RESERVATION_STATES).toContain(reservationState(status));
  });

  test("final is exactly: no sequence of legal transitions gives the stock back (the settled invariant)", () => {
    // Every path, spelled out by brute force over the state machine (it has no cycles).
    const paths = (from: OrderStatus): OrderStatus[][] => [
      [from],
      ...allowedNext(from).flatMap((to) => paths(to).map((p) => [from, ...p])),
    ];
    const releasesOnSomePath = (from: OrderStatus) => paths(from).some((p) => p.some((s, i) => i > 0 && releasesStock(p[i - 1]!, s)));
    for (const status of ORDER_STATUSES) {
      expect(mayStillReleaseStock(status)).toBe(releasesOnSomePath(status));
      if (reservationState(status) === "final") expect(releasesOnSomePath(status)).toBe(false);
      if (reservationState(status) === "open") expect(releasesOnSomePath(status)).toBe(true);
    }
    expect(ORDER_STATUSES.filter(mayStillReleaseStock)).toEqual(["pending", "paid"]);
  });

  test("release for missing and cancelled, settle for final, keep for everything else (never act on doubt)", () => {
    expect(verdict("missing")).toBe("release");
    expect(verdict("cancelled")).toBe("release");
    expect(verdict("final")).toBe("settle");
    expect(verdict("open")).toBe("keep");
    // What an orders node from before `open`/`final` answers for every live order.
    expect(verdict("active")).toBe("keep");
    for (const doubt of ["Missing", "Final", "settled", "", "pending", "delivered", undefined, null, 0, {}, ["missing"], ["final"]])
      expect(verdict(doubt)).toBe("keep");
  });

  test("a batch's plan: each id by its own answer; unanswered ids and unusable answers keep their reservation", () => {
    const ids = ["a", "b", "c", "d", "e", "g", "h"];
    const plan = planReconciliation(ids, { a: "missing", b: "open", c: "cancelled", d: "lost", f: "missing", g: "final", h: "active" });
    expect(plan).toEqual({
      release: [
        { id: "a", state: "missing" },
        { id: "c", state: "cancelled" },
      ],
      settle: ["g"],
      keep: ["b", "d", "e", "h"],
    });
    for (const nothing of [null, undefined, {}, "missing", "final", ["missing", "missing"], ["final"]]) {
      expect(planReconciliation(ids, nothing as never)).toEqual({ release: [], settle: [], keep: ids });
    }
    // An inherited property is not an answer.
    expect(planReconciliation(["toString", "constructor"], {})).toEqual({ release: [], settle: [], keep: ["toString", "constructor"] });
    expect(planReconciliation([], { a: "missing", b: "final" })).toEqual({ release: [], settle: [], keep: [] });
  });
});

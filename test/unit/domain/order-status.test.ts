import {
  ORDER_STATUSES,
  canTransition,
  allowedNext,
  sourcesOf,
  releasesStock,
  shopperMay,
  isFinal,
  isOrderStatus,
  unpaidCutoff,
  type OrderStatus,
} from "../../../domain/order-status.ts";

describe("order state machine", () => {
  const legal: [OrderStatus, OrderStatus][] = [
    ["pending", "paid"],
    ["pending", "cancelled"],
    ["paid", "shipped"],
    ["paid", "cancelled"],
    ["shipped", "delivered"],
  ];
  test("exactly the legal edges, for every pair of statuses", () => {
    for (const from of ORDER_STATUSES) {
      for (const to of ORDER_STATUSES) {
        const expected = legal.some(([f, t]) => f === from && t === to);
        expect(`${from}→${to}: ${canTransition(from, to)}`).toBe(`${from}→${to}: ${expected}`);
      }
    }
  });
  test("final states, sources and stock release", () => {
    expect(ORDER_STATUSES.filter(isFinal)).toEqual(["delivered", "cancelled"]);
    expect(sourcesOf("cancelled")).toEqual(["pending", "paid"]);
    expect(sourcesOf("pending")).toEqual([]);
    expect(allowedNext("paid")).toEqual(["shipped", "cancelled"]);
    expect(releasesStock("paid", "cancelled")).toBe(true);
    expect(releasesStock("shipped", "cancelled")).toBe(false);
    expect(releasesStock("cancelled", "cancelled")).toBe(false);
  });
  test("shoppers may only cancel pending orders", () => {
    for (const from of ORDER_STATUSES)
      for (const to of ORDER_STATUSES) expect(shopperMay(from, to)).toBe(from === "pending" && to === "cancelled");
  });
  test("isOrderStatus", () => {
    expect(isOrderStatus("paid")).toBe(true);
    expect(isOrderStatus("refunded")).toBe(false);
  });
});

test("unpaid orders expire TTL seconds after they were placed; a TTL of 0 never", () => {
  const now = new Date("2026-11-29T12:00:00.000Z");
  expect(unpaidCutoff(now, 0)).toBeNull();
  expect(unpaidCutoff(now, 3600)).toEqual(new Date("2026-11-29T11:00:00.000Z"));
  expect(unpaidCutoff(now, 86_400)).toEqual(new Date("2026-11-28T12:00:00.000Z"));
});

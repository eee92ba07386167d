import { ORDER_STATUSES, canTransition, allowedNext, sourcesOf, releasesStock, shopperMay, isFinal, isOrderStatus, unpaidCutoff, type OrderStatus } from "../../domain/order-status.ts";
import { lineTotalCents, sumCents, formatMoney, minorDigits, MoneyError } from "../../lib/money.ts";
import { cartProblems, priceOrder, currencyProblems, requestFingerprint } from "../../domain/checkout.ts";

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
    for (const from of ORDER_STATUSES) for (const to of ORDER_STATUSES) expect(shopperMay(from, to)).toBe(from === "pending" && to === "cancelled");
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

describe("money in integer minor units", () => {
  test("line totals and sums stay exact integers", () => {
    expect(lineTotalCents(1999, 3)).toBe(5997);
    expect(sumCents([1, 2, 3])).toBe(6);
    // 0.1 + 0.2 problems cannot happen: fractional cents are refused
    expect(() => lineTotalCents(19.99, 1)).toThrow(MoneyError);
    expect(() => sumCents([0.1, 0.2])).toThrow(MoneyError);
    expect(() => lineTotalCents(Number.MAX_SAFE_INTEGER, 2)).toThrow(/line total/);
    expect(() => lineTotalCents(100, -1)).toThrow(/quantity/);
  });
  test("formatting follows each currency's minor digits", () => {
    expect(minorDigits("EUR")).toBe(2);
    expect(minorDigits("JPY")).toBe(0);
    expect(minorDigits("KWD")).toBe(3);
    expect(formatMoney(123456, "EUR")).toBe("€1,234.56");
    expect(formatMoney(5, "EUR")).toBe("€0.05");
    expect(formatMoney(1234, "JPY")).toBe("JP¥1,234");
    expect(formatMoney(1234, "JPY", "ja-JP")).toBe("￥1,234");
    expect(formatMoney(1234, "KWD")).toBe("KWD\u00a01.234");
    expect(formatMoney(-250, "USD")).toBe("-US$2.50");
    expect(formatMoney(900719925474099, "EUR")).toBe("€9,007,199,254,740.99");
  });
});

describe("checkout rules", () => {
  const snap = (productId: string, unitPriceCents: number, currency = "EUR") => ({ productId, sku: productId.toUpperCase(), name: `P ${productId}`, unitPriceCents, currency });

  test("duplicate products are refused by line", () => {
    expect(cartProblems([{ productId: "a", quantity: 1 }, { productId: "b", quantity: 1 }])).toEqual([]);
    expect(cartProblems([{ productId: "a", quantity: 1 }, { productId: "b", quantity: 1 }, { productId: "a", quantity: 2 }])).toEqual([
      { field: "items[2].productId", message: expect.any(String), type: "duplicate" },
    ]);
  });

  test("prices come from the snapshots, totals in cents", () => {
    const order = priceOrder([{ productId: "a", quantity: 2 }, { productId: "b", quantity: 3 }], [snap("a", 1999), snap("b", 5)]);
    expect(order).toEqual({
      currency: "EUR",
      totalCents: 4013,
      items: [
        { productId: "a", sku: "A", name: "P a", unitPriceCents: 1999, currency: "EUR", quantity: 2, lineTotalCents: 3998 },
        { productId: "b", sku: "B", name: "P b", unitPriceCents: 5, currency: "EUR", quantity: 3, lineTotalCents: 15 },
      ],
    });
    expect(() => priceOrder([{ productId: "a", quantity: 1 }, { productId: "b", quantity: 1 }], [snap("a", 1), snap("b", 1, "USD")])).toThrow(/one currency/);
  });

  test("currency problems name the offending lines", () => {
    const lines = [{ productId: "a", quantity: 1 }, { productId: "b", quantity: 1 }, { productId: "c", quantity: 1 }];
    expect(currencyProblems(lines, [snap("a", 1), snap("b", 1, "USD"), snap("c", 1)])).toEqual([{ field: "items[1].productId", message: expect.stringContaining("EUR, not USD"), type: "currency" }]);
  });

  test("request fingerprints ignore key order, not values", () => {
    const a = requestFingerprint({ items: [{ productId: "x", quantity: 1 }], shippingAddress: { city: "Oslo", line1: "1" } });
    const b = requestFingerprint({ shippingAddress: { line1: "1", city: "Oslo" }, items: [{ quantity: 1, productId: "x" }] });
    const c = requestFingerprint({ items: [{ productId: "x", quantity: 2 }], shippingAddress: { city: "Oslo", line1: "1" } });
    expect(a).toBe(b);
    expect(a).not.toBe(c);
  });
});

import { cartProblems, priceOrder, currencyProblems, requestFingerprint, reservationProblems } from "../../../domain/checkout.ts";

describe("checkout rules", () => {
  const snap = (productId: string, unitPriceCents: number, currency = "EUR") => ({
    productId,
    sku: productId.toUpperCase(),
    name: `P ${productId}`,
    unitPriceCents,
    currency,
  });

  test("duplicate products are refused by line", () => {
    expect(
      cartProblems([
        { productId: "a", quantity: 1 },
        { productId: "b", quantity: 1 },
      ]),
    ).toEqual([]);
    expect(
      cartProblems([
        { productId: "a", quantity: 1 },
        { productId: "b", quantity: 1 },
        { productId: "a", quantity: 2 },
      ]),
    ).toEqual([{ field: "items[2].productId", message: expect.any(String), type: "duplicate" }]);
  });

  test("prices come from the snapshots, totals in cents", () => {
    const order = priceOrder(
      [
        { productId: "a", quantity: 2 },
        { productId: "b", quantity: 3 },
      ],
      [snap("a", 1999), snap("b", 5)],
    );
    expect(order).toEqual({
      currency: "EUR",
      totalCents: 4013,
      items: [
        { productId: "a", sku: "A", name: "P a", unitPriceCents: 1999, currency: "EUR", quantity: 2, lineTotalCents: 3998 },
        { productId: "b", sku: "B", name: "P b", unitPriceCents: 5, currency: "EUR", quantity: 3, lineTotalCents: 15 },
      ],
    });
    expect(() =>
      priceOrder(
        [
          { productId: "a", quantity: 1 },
          { productId: "b", quantity: 1 },
        ],
        [snap("a", 1), snap("b", 1, "USD")],
      ),
    ).toThrow(/one currency/);
  });

  test("currency problems name the offending lines", () => {
    const lines = [
      { productId: "a", quantity: 1 },
      { productId: "b", quantity: 1 },
      { productId: "c", quantity: 1 },
    ];
    expect(currencyProblems(lines, [snap("a", 1), snap("b", 1, "USD"), snap("c", 1)])).toEqual([
      { field: "items[1].productId", message: expect.stringContaining("EUR, not USD"), type: "currency" },
    ]);
  });

  test("a reservation refuses unknown and inactive products first, then mixed currencies", () => {
    const lines = [
      { productId: "a", quantity: 1 },
      { productId: "b", quantity: 1 },
      { productId: "c", quantity: 1 },
    ];
    const state = (productId: string, active = true, currency = "EUR") => ({ productId, active, currency });
    expect(reservationProblems(lines, [state("a"), state("b"), state("c")])).toEqual([]);
    // Not found (c) and not for sale (b): both lines, and no word about the currency of b.
    expect(reservationProblems(lines, [state("a"), state("b", false, "USD")])).toEqual([
      { field: "items[1].productId", message: "No such product is for sale.", type: "unknownProduct" },
      { field: "items[2].productId", message: "No such product is for sale.", type: "unknownProduct" },
    ]);
    expect(reservationProblems(lines, [state("a"), state("b", true, "USD"), state("c")])).toEqual([
      { field: "items[1].productId", message: expect.stringContaining("EUR, not USD"), type: "currency" },
    ]);
  });

  test("request fingerprints ignore key order, not values", () => {
    const a = requestFingerprint({ items: [{ productId: "x", quantity: 1 }], shippingAddress: { city: "Oslo", line1: "1" } });
    const b = requestFingerprint({ shippingAddress: { line1: "1", city: "Oslo" }, items: [{ quantity: 1, productId: "x" }] });
    const c = requestFingerprint({ items: [{ productId: "x", quantity: 2 }], shippingAddress: { city: "Oslo", line1: "1" } });
    expect(a).toBe(b);
    expect(a).not.toBe(c);
  });
});

/**
 * Checkout rules that need no database: the shape of the cart, the snapshot of each line
 * (name and price as the products service reported them at reservation time), totals in
 * one currency, and the fingerprint that tells an idempotent retry from a different request.
 */
import { createHash } from "node:crypto";
import { lineTotalCents, sumCents } from "../lib/money.ts";

export interface CartLine {
  productId: string;
  quantity: number;
}

export interface ProductSnapshot {
  productId: string;
  sku: string;
  name: string;
  unitPriceCents: number;
  currency: string;
}

export interface OrderLine extends ProductSnapshot {
  quantity: number;
  lineTotalCents: number;
}

export interface CheckoutProblem {
  field: string;
  message: string;
  type: string;
}

/** Each product appears once in a cart: a duplicate line is a client mistake, not a merge. */
export function cartProblems(lines: readonly CartLine[]): CheckoutProblem[] {
  const seen = new Set<string>();
  const problems: CheckoutProblem[] = [];
  lines.forEach((line, i) => {
    if (seen.has(line.productId)) {
      problems.push({
        field: `items[${i}].productId`,
        message: "Each product may appear only once; add up the quantities.",
        type: "duplicate",
      });
    }
    seen.add(line.productId);
  });
  return problems;
}

/** Order lines and total from the cart and the reserved products' snapshots. */
export function priceOrder(
  lines: readonly CartLine[],
  snapshots: readonly ProductSnapshot[],
): { items: OrderLine[]; totalCents: number; currency: string } {
  const byId = new Map(snapshots.map((s) => [s.productId, s]));
  const items = lines.map((line) => {
    const snap = byId.get(line.productId);
    if (!snap) throw new Error(`no snapshot for product ${line.productId}`);
    return { ...snap, quantity: line.quantity, lineTotalCents: lineTotalCents(snap.unitPriceCents, line.quantity) };
  });
  const currencies = new Set(items.map((i) => i.currency));
  if (currencies.size !== 1) throw new Error(`an order has exactly one currency (got ${[...currencies].join(", ")})`);
  return { items, totalCents: sumCents(items.map((i) => i.lineTotalCents)), currency: items[0]!.currency };
}

/** Which lines mix currencies: the ones not in the first line's currency. */
export function currencyProblems(
  lines: readonly CartLine[],
  snapshots: readonly Pick<ProductSnapshot, "productId" | "currency">[],
): CheckoutProblem[] {
  const byId = new Map(snapshots.map((s) => [s.productId, s]));
  const first = byId.get(lines[0]?.productId ?? "")?.currency;
  return lines.flatMap((line, i) => {
    const c = byId.get(line.productId)?.currency;
    return c && first && c !== first
      ? [
          {
            field: `items[${i}].productId`,
            message: `All products of an order must be priced in one currency (${first}, not ${c}).`,
            type: "currency",
          },
        ]
      : [];
  });
}

/** What a reservation learns about a line's product (a product it did not find has none). */
export interface ProductState {
  productId: string;
  active: boolean;
  currency: string;
}

/**
 * Why a reservation refuses its lines (422), in the order a client is told: the lines whose
 * product does not exist or is not for sale; when there are none, the lines in another
 * currency than the first line's. Empty when the lines themselves are fine.
 */
export function reservationProblems(lines: readonly CartLine[], products: readonly ProductState[]): CheckoutProblem[] {
  const byId = new Map(products.map((p) => [p.productId, p]));
  const unknown = lines.flatMap((line, i) =>
    byId.get(line.productId)?.active
      ? []
      : [{ field: `items[${i}].productId`, message: "No such product is for sale.", type: "unknownProduct" }],
  );
  return unknown.length ? unknown : currencyProblems(lines, products);
}

/** Stable fingerprint of a checkout request body (key order does not matter). */
export function requestFingerprint(body: unknown): string {
  const canonical = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(canonical)
      : v && typeof v === "object"
        ? Object.fromEntries(
            Object.keys(v as object)
              .toSorted()
              .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
          )
        : v;
  return createHash("sha256")
    .update(JSON.stringify(canonical(body)))
    .digest("hex");
}

/** The bench's products as the shop answers them, written by bench/anchors.ts for the anchor servers. */
import { readFileSync } from "node:fs";

export type Product = Record<string, unknown> & { id: string };

/** The products of BENCH_PRODUCTS_FILE by id. */
export function loadProducts(): Map<string, Product> {
  const file = process.env.BENCH_PRODUCTS_FILE;
  if (!file) throw new Error("BENCH_PRODUCTS_FILE is not set");
  const list = JSON.parse(readFileSync(file, "utf8")) as Product[];
  return new Map(list.map((p) => [p.id, p]));
}

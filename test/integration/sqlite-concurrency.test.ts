/**
 * The embedded default (one node, SQLite) under concurrent checkouts: 50 at once on one product
 * with stock for 40. Every request gets a clear answer (201 or 409 out of stock), exactly 40
 * orders exist, one per 201, and the stock and the reservation ledger add up: the same
 * correctness as on PostgreSQL, with no SQLITE_BUSY and no broker retry of a checkout.
 */
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startTestNode, type TestNode } from "../support/node.ts";
import { shopClient } from "../support/shop-client.ts";

describe("the embedded SQLite node under 50 concurrent checkouts", () => {
  let node: TestNode;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shop-sqlite-"));
  const shop = shopClient(() => node);

  beforeAll(async () => {
    const env = {
      SQLITE_PATH: path.join(dir, "shop.sqlite"),
      MAIL_OUTBOX_DIR: path.join(dir, "outbox"),
      STORAGE_DIR: path.join(dir, "files"),
      RATE_LIMIT_FACTOR: "1000",
      SERVICES: "all",
    };
    const { loadConfig } = await import("../../lib/config.ts");
    const { migrateUp } = await import("../../integrations/database/migrator.ts");
    await migrateUp(loadConfig(env).database);
    node = await startTestNode(env);
  }, 60_000);

  afterAll(async () => {
    await node?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("every checkout answers 201 or 409; 40 orders for 40 units; nothing oversold or held twice", async () => {
    const admin = (await shop.superuser()).token;
    const product = await shop.product(admin, { stock: 40 });
    const shoppers = await shop.shoppers(10, "sqlite");

    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => shop.order(shoppers[i % 10]!.token, product.id, 1, { "idempotency-key": `checkout-${i}` })),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s !== 201 && s !== 409)).toEqual([]);
    expect(statuses.filter((s) => s === 201)).toHaveLength(40);
    expect(results.filter((r) => r.status === 409).every((r) => r.body.type === "INSUFFICIENT_STOCK")).toBe(true);

    const orders = node.broker.getLocalService("orders") as unknown as { adapter: { model: { count(o?: object): Promise<number> } } };
    expect(await orders.adapter.model.count()).toBe(40);
    const created = new Set(results.filter((r) => r.status === 201).map((r) => r.body.id));
    expect(created.size).toBe(40);
    const p = await node.broker.call<{ stock: number }, object>(
      "products.get",
      { id: product.id },
      { meta: { user: { id: "x", role: "admin" } } },
    );
    expect(p.stock).toBe(0);
    const products = node.broker.getLocalService("products") as unknown as { reservations: { count(o?: object): Promise<number> } };
    expect(await products.reservations.count({ where: { status: "reserved" } })).toBe(40);
  }, 120_000);

  test("reserve on SQLite: UPDATE … RETURNING answers the snapshot; a retried id takes the stock once; bad lines are 422s", async () => {
    const admin = (await shop.superuser("sqlite-boss")).token;
    const eur = await shop.product(admin, { name: "Mug", priceCents: 900, stock: 5 });
    const usd = await shop.product(admin, { currency: "USD", stock: 5 });
    const reserve = (reservationId: string, items: object[]) =>
      node.broker.call<any[], object>("products.reserve", { reservationId, items });
    const stockOf = async (id: string) =>
      (await node.broker.call<{ stock: number }, object>("products.get", { id }, { meta: { user: { id: "x", role: "admin" } } })).stock;
    const id = randomUUID();
    const first = await reserve(id, [{ productId: eur.id, quantity: 2 }]);
    expect(first).toEqual([{ productId: eur.id, sku: eur.sku, name: "Mug", unitPriceCents: 900, currency: "EUR", quantity: 2 }]);
    expect(await reserve(id, [{ productId: eur.id, quantity: 2 }])).toEqual(first);
    expect(await stockOf(eur.id)).toBe(3);
    const mixed = await reserve(randomUUID(), [
      { productId: eur.id, quantity: 1 },
      { productId: usd.id, quantity: 1 },
    ]).catch((err) => err);
    expect(mixed).toMatchObject({ code: 422, data: [{ field: "items[1].productId", type: "currency" }] });
    const unknown = await reserve(randomUUID(), [{ productId: randomUUID(), quantity: 1 }]).catch((err) => err);
    expect(unknown).toMatchObject({ code: 422, data: [{ field: "items[0].productId", type: "unknownProduct" }] });
    expect([await stockOf(eur.id), await stockOf(usd.id)]).toEqual([3, 5]);
  });
});

/**
 * orders over HTTP on real PostgreSQL: checkout (validation, stock, snapshots, idempotency),
 * lifecycle (who may move an order where, stock back exactly once), reads and ownership,
 * events after commit, and the compensation when saving an order fails.
 */
import { randomUUID } from "node:crypto";
import { jest } from "@jest/globals";
import { describeWithServers } from "../support/servers.ts";
import { startTestShop, type TestNode } from "../support/node.ts";
import { shopClient, ADDRESS, type Account } from "../support/shop-client.ts";
import { HELD_RESERVATION_STATUSES } from "../../domain/reconciliation.ts";
import { until } from "../../scripts/support/until.ts";

const suite = await describeWithServers("postgres");

suite("orders", () => {
  let node: TestNode;
  const events: { event: string; payload: any }[] = [];
  let admin: string;
  let alice: Account;
  let bob: Account;

  const shop = shopClient(() => node);
  const { http, as, checkout } = shop;
  const product = (fields: Record<string, unknown> = {}) => shop.product(admin, { name: "Teapot", priceCents: 2500, stock: 10, ...fields });
  const stockOf = async (id: string) =>
    (await node.broker.call<any, any>("products.get", { id }, { meta: { user: { id: "x", role: "admin" } } })).stock;

  beforeAll(async () => {
    node = await startTestShop("orders", { RATE_LIMIT_FACTOR: "100" });
    node.broker.createService({
      name: "listener",
      events: {
        "order.*"(ctx: any) {
          events.push({ event: ctx.eventName, payload: ctx.params });
        },
      },
    });
    await node.broker.waitForServices(["listener"]);
    admin = (await shop.superuser()).token;
    alice = await shop.shopper("alice");
    bob = await shop.shopper("bob");
  });

  afterAll(async () => {
    await node?.stop();
  });

  describe("checkout", () => {
    test("201: snapshots, integer totals, stock taken, history, Location, event after commit", async () => {
      const a = await product({ priceCents: 1999, stock: 5 });
      const b = await product({ priceCents: 5, stock: 100, name: "Spoon" });
      const res = await checkout(alice.token, [
        { productId: a.id, quantity: 2 },
        { productId: b.id, quantity: 3 },
      ]);
      expect(res.status).toBe(201);
      expect(res.headers.get("location")).toBe(`/api/orders/${res.body.id}`);
      expect(res.body).toMatchObject({
        userId: alice.id,
        status: "pending",
        totalCents: 4013,
        currency: "EUR",
        shippingAddress: ADDRESS,
        items: expect.arrayContaining([
          expect.objectContaining({ productId: a.id, name: "Teapot", unitPriceCents: 1999, quantity: 2, lineTotalCents: 3998 }),
          expect.objectContaining({ productId: b.id, name: "Spoon", unitPriceCents: 5, quantity: 3, lineTotalCents: 15 }),
        ]),
        // The customer's own view: who acted, not whose id (issue 12).
        statusHistory: [{ from: null, to: "pending", at: expect.any(String), by: "customer" }],
      });
      expect(await stockOf(a.id)).toBe(3);
      expect(await stockOf(b.id)).toBe(97);
      // A later price change does not touch the order: it keeps its snapshot.
      await http(`/products/${a.id}`, { method: "PATCH", headers: as(admin), json: { priceCents: 9999 } });
      expect((await http(`/orders/${res.body.id}`, { headers: as(alice.token) })).body.totalCents).toBe(4013);
      const created = events.find((e) => e.event === "order.created" && e.payload.order.id === res.body.id)?.payload;
      expect(created).toMatchObject({ order: { totalCents: 4013 }, customer: { id: alice.id, email: expect.stringContaining("alice") } });
    });

    test("the customer's contact comes with the principal: a checkout asks neither users.contact nor products.snapshot", async () => {
      const p = await product();
      const principal = await node.broker.call<any, object>("users.authenticate", { scheme: "bearer", credentials: alice.token });
      expect(principal).toMatchObject({ id: alice.id, role: "user", email: alice.email, name: "alice" });
      const spy = jest.spyOn(node.broker, "call");
      try {
        const res = await checkout(alice.token, [{ productId: p.id, quantity: 1 }]);
        expect(res.status).toBe(201);
        const asked = spy.mock.calls.map((c) => String(c[0]));
        expect(asked).toContain("products.reserve");
        expect(asked).not.toContain("users.contact");
        expect(asked).not.toContain("products.snapshot");
        await until("the order.created event", () => events.some((e) => e.event === "order.created" && e.payload.order.id === res.body.id));
        const created = events.find((e) => e.event === "order.created" && e.payload.order.id === res.body.id)!.payload;
        expect(created.customer).toEqual({ id: alice.id, email: alice.email, name: "alice" });
      } finally {
        spy.mockRestore();
      }
    });

    test("without an Idempotency-Key the order is one INSERT, no transaction; with a key, one transaction with the key", async () => {
      const p = await product();
      const db = (node.broker.getLocalService("orders") as any).adapter.db;
      const transactions = jest.spyOn(db, "transaction");
      const queries = jest.spyOn(db, "query");
      try {
        const res = await checkout(alice.token, [{ productId: p.id, quantity: 1 }]);
        expect(res.status).toBe(201);
        expect(transactions).not.toHaveBeenCalled();
        expect(queries.mock.calls.map((c) => String(c[0]).split("\n")[0])).toEqual(["INSERT INTO orders"]);
        const keyed = await checkout(alice.token, [{ productId: p.id, quantity: 1 }], { "idempotency-key": `one-tx-${randomUUID()}` });
        expect(keyed.status).toBe(201);
        expect(transactions).toHaveBeenCalledTimes(1);
      } finally {
        transactions.mockRestore();
        queries.mockRestore();
      }
    });

    test("not enough stock: 409 INSUFFICIENT_STOCK naming the products, and nothing taken from any line", async () => {
      const plenty = await product({ stock: 10 });
      const scarce = await product({ stock: 1 });
      const res = await checkout(alice.token, [
        { productId: plenty.id, quantity: 3 },
        { productId: scarce.id, quantity: 2 },
      ]);
      expect(res).toMatchObject({ status: 409, body: { code: 409, type: "INSUFFICIENT_STOCK", data: { productIds: [scarce.id] } } });
      expect(await stockOf(plenty.id)).toBe(10);
      expect(await stockOf(scarce.id)).toBe(1);
    });

    test.each([
      ["no lines", [], "items"],
      ["quantity 0", [{ productId: "P", quantity: 0 }], "items[0].quantity"],
      ["quantity 1001", [{ productId: "P", quantity: 1001 }], "items[0].quantity"],
      ["fractional quantity", [{ productId: "P", quantity: 1.5 }], "items[0].quantity"],
      ["a price from the client", [{ productId: "P", quantity: 1, unitPriceCents: 1 }], "items[0].unitPriceCents"],
      ["unknown product", [{ productId: "00000000-0000-4000-8000-000000000000", quantity: 1 }], "items[0].productId"],
      ["not a product id", [{ productId: "'; DROP TABLE orders; --", quantity: 1 }], "items[0].productId"],
      [
        "the same product twice",
        [
          { productId: "P", quantity: 1 },
          { productId: "P", quantity: 1 },
        ],
        "items[1].productId",
      ],
    ])("%s → 422", async (_label, items, field) => {
      const p = await product();
      const res = await checkout(
        alice.token,
        (items as any[]).map((i) => ({ ...i, productId: i.productId === "P" ? p.id : i.productId })),
      );
      expect(res.status).toBe(422);
      expect(res.body.data.map((d: any) => d.field)).toContain(field);
      expect(await stockOf(p.id)).toBe(10);
    });

    test("101 lines, mixed currencies, inactive products and a bad address are 422 too", async () => {
      const eur = await product();
      const usd = await product({ currency: "USD" });
      const inactive = await product({ active: false });
      expect(
        (
          await checkout(
            alice.token,
            Array.from({ length: 101 }, () => ({ productId: eur.id, quantity: 1 })),
          )
        ).status,
      ).toBe(422);
      const mixed = await checkout(alice.token, [
        { productId: eur.id, quantity: 1 },
        { productId: usd.id, quantity: 1 },
      ]);
      expect(mixed).toMatchObject({ status: 422, body: { data: [{ field: "items[1].productId", type: "currency" }] } });
      expect((await checkout(alice.token, [{ productId: inactive.id, quantity: 1 }])).status).toBe(422);
      const noCountry = await http("/orders", {
        method: "POST",
        headers: as(alice.token),
        json: { items: [{ productId: eur.id, quantity: 1 }], shippingAddress: { ...ADDRESS, country: "Britain" } },
      });
      expect(noCountry.status).toBe(422);
      expect(await stockOf(eur.id)).toBe(10);
    });

    test("anonymous → 401, API clients → 403", async () => {
      const p = await product();
      expect(
        (await http("/orders", { method: "POST", json: { items: [{ productId: p.id, quantity: 1 }], shippingAddress: ADDRESS } })).status,
      ).toBe(401);
      const client = (await http("/clients", { method: "POST", headers: as(admin), json: { name: "bot" } })).body;
      const token = (
        await http("/auth/token", {
          method: "POST",
          json: { grant_type: "client_credentials", client_id: client.clientId, client_secret: client.clientSecret },
        })
      ).body.access_token;
      expect((await checkout(token, [{ productId: p.id, quantity: 1 }])).status).toBe(403);
    });
  });

  describe("Idempotency-Key", () => {
    test("a retry with the same key and body returns the first order, marked as replayed", async () => {
      const p = await product({ stock: 10 });
      const key = randomUUID();
      const first = await checkout(alice.token, [{ productId: p.id, quantity: 2 }], { "idempotency-key": key });
      const again = await checkout(alice.token, [{ productId: p.id, quantity: 2 }], { "idempotency-key": key });
      expect(first.status).toBe(201);
      expect(again.status).toBe(201);
      expect(again.body.id).toBe(first.body.id);
      expect(again.headers.get("idempotent-replayed")).toBe("true");
      expect(first.headers.get("idempotent-replayed")).toBeNull();
      expect(await stockOf(p.id)).toBe(8);
    });

    test("the same key with another body → 422; keys are per user", async () => {
      const p = await product();
      const key = randomUUID();
      expect((await checkout(alice.token, [{ productId: p.id, quantity: 1 }], { "idempotency-key": key })).status).toBe(201);
      const other = await checkout(alice.token, [{ productId: p.id, quantity: 2 }], { "idempotency-key": key });
      expect(other).toMatchObject({ status: 422, body: { data: [{ field: "Idempotency-Key" }] } });
      const bobs = await checkout(bob.token, [{ productId: p.id, quantity: 1 }], { "idempotency-key": key });
      expect(bobs.status).toBe(201);
      expect(await stockOf(p.id)).toBe(8);
    });

    test("concurrent retries of one checkout: one order, the others replayed or told it is in flight", async () => {
      const p = await product({ stock: 50 });
      const key = randomUUID();
      const results = await Promise.all(
        Array.from({ length: 12 }, () => checkout(alice.token, [{ productId: p.id, quantity: 1 }], { "idempotency-key": key })),
      );
      const ids = new Set(results.filter((r) => r.status === 201).map((r) => r.body.id));
      expect(ids.size).toBe(1);
      for (const r of results) expect([201, 409]).toContain(r.status);
      for (const r of results.filter((x) => x.status === 409)) expect(r.body.type).toBe("IDEMPOTENCY_IN_FLIGHT");
      expect(await stockOf(p.id)).toBe(49);
    });

    describe("a replay returns the first response, byte for byte, after the order changed", () => {
      // The raw bytes, not the parsed body: a replay must be exactly what the client got first.
      const rawCheckout = async (token: string, items: unknown, key: string) => {
        const res = await fetch(`${node.api}/orders`, {
          method: "POST",
          headers: { "content-type": "application/json", ...as(token, { "idempotency-key": key }) },
          body: JSON.stringify({ items, shippingAddress: ADDRESS }),
        });
        return { status: res.status, headers: res.headers, text: await res.text() };
      };

      test.each([
        [
          "paid by the shop",
          (id: string) => http(`/orders/${id}/status`, { method: "PATCH", headers: as(admin), json: { status: "paid" } }),
          "paid",
        ],
        [
          "cancelled by the shopper",
          (id: string) => http(`/orders/${id}/cancel`, { method: "POST", headers: as(alice.token) }),
          "cancelled",
        ],
      ])("%s", async (_label, change, now) => {
        const p = await product({ stock: 10 });
        const key = randomUUID();
        const items = [{ productId: p.id, quantity: 2 }];
        const first = await rawCheckout(alice.token, items, key);
        expect(first.status).toBe(201);
        const order = JSON.parse(first.text);
        expect(order.status).toBe("pending");
        expect((await change(order.id)).status).toBe(200);
        expect((await http(`/orders/${order.id}`, { headers: as(alice.token) })).body.status).toBe(now);

        const again = await rawCheckout(alice.token, items, key);
        expect(again.status).toBe(201);
        expect(again.headers.get("idempotent-replayed")).toBe("true");
        expect(again.headers.get("location")).toBe(first.headers.get("location"));
        expect(again.headers.get("content-type")).toBe(first.headers.get("content-type"));
        expect(again.text).toBe(first.text);
        // Replays change nothing: no second order, no stock taken again.
        expect(await stockOf(p.id)).toBe(now === "cancelled" ? 10 : 8);
      });

      test("a key completed before responses were stored falls back to the order as it is now", async () => {
        const p = await product({ stock: 10 });
        const key = randomUUID();
        const items = [{ productId: p.id, quantity: 1 }];
        const first = await rawCheckout(alice.token, items, key);
        const order = JSON.parse(first.text);
        // As a row written before migration 20261129-0008 looks: done, with no response.
        const store = (node.broker.getLocalService("orders") as any).idempotency;
        expect(await store.model.update({ response: null }, { where: { userId: alice.id, key } })).toEqual([1]);
        await http(`/orders/${order.id}/status`, { method: "PATCH", headers: as(admin), json: { status: "paid" } });
        const again = await rawCheckout(alice.token, items, key);
        expect(again.status).toBe(201);
        expect(again.headers.get("idempotent-replayed")).toBe("true");
        expect(JSON.parse(again.text)).toMatchObject({ id: order.id, status: "paid" });
      });
    });

    test("expired keys are swept; live ones stay", async () => {
      const p = await product({ stock: 10 });
      const [oldKey, liveKey] = [randomUUID(), randomUUID()];
      await checkout(alice.token, [{ productId: p.id, quantity: 1 }], { "idempotency-key": oldKey });
      await checkout(alice.token, [{ productId: p.id, quantity: 1 }], { "idempotency-key": liveKey });
      const store = (node.broker.getLocalService("orders") as any).idempotency;
      await store.model.update({ expiresAt: new Date(Date.now() - 1000) }, { where: { userId: alice.id, key: oldKey } });
      expect(await store.sweep()).toBeGreaterThanOrEqual(1);
      const left = (await store.model.findAll({ where: { userId: alice.id } })).map((r: any) => r.get("key"));
      expect(left).not.toContain(oldKey);
      expect(left).toContain(liveKey);
    });

    test("a failed checkout frees its key: the retry can succeed", async () => {
      const p = await product({ stock: 1 });
      const key = randomUUID();
      expect((await checkout(alice.token, [{ productId: p.id, quantity: 2 }], { "idempotency-key": key })).status).toBe(409);
      await http(`/products/${p.id}`, { method: "PATCH", headers: as(admin), json: { stock: 5 } });
      expect((await checkout(alice.token, [{ productId: p.id, quantity: 2 }], { "idempotency-key": key })).status).toBe(201);
    });
  });

  describe("lifecycle", () => {
    async function order(token = alice.token, quantity = 2) {
      const p = await product({ stock: 10 });
      const res = await checkout(token, [{ productId: p.id, quantity }]);
      expect(res.status).toBe(201);
      return { order: res.body, product: p };
    }
    const setStatus = (id: string, status: string, token = admin) =>
      http(`/orders/${id}/status`, { method: "PATCH", headers: as(token), json: { status, reason: "test" } });

    test("pending → paid → shipped → delivered, with who and when in the history", async () => {
      const { order: o } = await order();
      for (const s of ["paid", "shipped", "delivered"])
        expect(await setStatus(o.id, s)).toMatchObject({ status: 200, body: { status: s } });
      const final = (await http(`/orders/${o.id}`, { headers: as(admin) })).body;
      expect(final.statusHistory.map((h: any) => `${h.from}→${h.to}`)).toEqual([
        "null→pending",
        "pending→paid",
        "paid→shipped",
        "shipped→delivered",
      ]);
      expect(final.statusHistory[1]).toMatchObject({ by: expect.any(String), reason: "test", at: expect.any(String) });
      // The customer sees that the shop acted, not who, nor the staff's note (issue 12).
      const mine = (await http(`/orders/${o.id}`, { headers: as(alice.token) })).body;
      expect(mine.statusHistory[1]).toEqual({ from: "pending", to: "paid", at: final.statusHistory[1].at, by: "shop" });
      expect(events.filter((e) => e.event === "order.status-changed" && e.payload.order.id === o.id).map((e) => e.payload.to)).toEqual([
        "paid",
        "shipped",
        "delivered",
      ]);
    });

    test("illegal transitions → 409 with the allowed ones", async () => {
      const { order: o } = await order();
      expect(await setStatus(o.id, "shipped")).toMatchObject({
        status: 409,
        body: { type: "ILLEGAL_TRANSITION", data: { from: "pending", to: "shipped", allowed: ["paid", "cancelled"] } },
      });
      expect((await setStatus(o.id, "pending")).status).toBe(409);
      expect((await setStatus(o.id, "refunded")).status).toBe(422);
    });

    test("a shopper cancels their own pending order once: stock back exactly once", async () => {
      const { order: o, product: p } = await order(alice.token, 3);
      expect(await stockOf(p.id)).toBe(7);
      const results = await Promise.all(
        [1, 2, 3].map(() =>
          http(`/orders/${o.id}/cancel`, { method: "POST", headers: as(alice.token), json: { reason: "changed my mind" } }),
        ),
      );
      expect(results.filter((r) => r.status === 200)).toHaveLength(1);
      for (const r of results.filter((x) => x.status !== 200)) expect(r.status).toBe(409);
      expect(await stockOf(p.id)).toBe(10);
      expect((await setStatus(o.id, "paid")).status).toBe(409);
      expect(events.filter((e) => e.event === "order.cancelled" && e.payload.order.id === o.id)).toHaveLength(1);
    });

    test("shoppers cannot cancel paid orders; admins can, and the stock comes back", async () => {
      const { order: o, product: p } = await order();
      await setStatus(o.id, "paid");
      expect((await http(`/orders/${o.id}/cancel`, { method: "POST", headers: as(alice.token) })).status).toBe(409);
      expect((await http(`/orders/${o.id}/cancel`, { method: "POST", headers: as(admin) })).status).toBe(200);
      expect(await stockOf(p.id)).toBe(10);
    });

    test("shoppers cannot move orders through the states", async () => {
      const { order: o } = await order();
      expect((await setStatus(o.id, "paid", alice.token)).status).toBe(403);
    });

    test("PENDING_ORDER_TTL: an order not paid in time is cancelled by `system`, its stock back, once; paid ones stay", async () => {
      const orders = node.broker.getLocalService("orders") as any;
      expect(orders.settings.pendingTtlSec).toBe(0); // the default: unpaid orders wait forever
      expect(await orders.expireUnpaid(new Date(Date.now() + 365 * 86_400_000))).toBe(0);

      const { order: unpaid, product: p } = await order(alice.token, 3);
      const { order: paid, product: q } = await order(bob.token, 4);
      expect(await setStatus(paid.id, "paid")).toMatchObject({ status: 200 });
      const { order: fresh } = await order(alice.token, 1);
      // Two hours old, the first two; the third was just placed.
      await orders.adapter.model.update(
        { createdAt: new Date(Date.now() - 2 * 3_600_000) },
        { where: { id: [unpaid.id, paid.id] }, silent: true },
      );

      orders.settings.pendingTtlSec = 3600;
      try {
        const runs = await Promise.all([orders.expireUnpaid(), orders.expireUnpaid()]); // two replicas at once
        expect(runs.reduce((a: number, b: number) => a + b, 0)).toBe(1);
        expect(await orders.expireUnpaid()).toBe(0);
      } finally {
        orders.settings.pendingTtlSec = 0;
      }
      const cancelled = (await http(`/orders/${unpaid.id}`, { headers: as(alice.token) })).body;
      expect(cancelled.status).toBe("cancelled");
      expect(cancelled.statusHistory.at(-1)).toMatchObject({
        from: "pending",
        to: "cancelled",
        by: "system",
        reason: "Not paid within 60 minutes.",
      });
      expect(await stockOf(p.id)).toBe(10);
      expect(events.filter((e) => e.event === "order.cancelled" && e.payload.order.id === unpaid.id)).toHaveLength(1);
      expect((await http(`/orders/${paid.id}`, { headers: as(bob.token) })).body.status).toBe("paid");
      expect(await stockOf(q.id)).toBe(6);
      expect((await http(`/orders/${fresh.id}`, { headers: as(alice.token) })).body.status).toBe("pending");
    });
  });

  describe("reads and ownership", () => {
    test("a user sees only their own orders; another user's order is a 404", async () => {
      const p = await product();
      const mine = (await checkout(bob.token, [{ productId: p.id, quantity: 1 }])).body;
      const list = await http("/orders?pageSize=100", { headers: as(bob.token) });
      expect(list.status).toBe(200);
      expect(list.body.rows.every((o: any) => o.userId === bob.id)).toBe(true);
      expect(list.body.rows.map((o: any) => o.id)).toContain(mine.id);
      // asking for someone else's orders changes nothing
      const sneaky = await http(`/orders?userId=${alice.id}`, { headers: as(bob.token) });
      expect(sneaky.body.rows.every((o: any) => o.userId === bob.id)).toBe(true);
      for (const path of [`/orders/${mine.id}`, `/orders/${mine.id}/cancel`]) {
        const res = await http(path, { method: path.endsWith("cancel") ? "POST" : "GET", headers: as(alice.token) });
        expect(res).toMatchObject({ status: 404, body: { code: 404 } });
      }
      expect((await http(`/orders/${randomUUID()}`, { headers: as(alice.token) })).status).toBe(404);
      expect((await http("/orders")).status).toBe(401);
    });

    test("admins see all orders, filtered by user, status and date, sorted", async () => {
      const all = await http(`/orders?userId=${alice.id}&sort=-totalCents&pageSize=100`, { headers: as(admin) });
      expect(all.status).toBe(200);
      expect(all.body.total).toBeGreaterThan(3);
      expect(all.body.rows.every((o: any) => o.userId === alice.id)).toBe(true);
      const totals = all.body.rows.map((o: any) => o.totalCents);
      expect(totals).toEqual([...totals].sort((a: number, b: number) => b - a));
      const cancelled = await http("/orders?status=cancelled", { headers: as(admin) });
      expect(cancelled.body.rows.length).toBeGreaterThan(0);
      expect(cancelled.body.rows.every((o: any) => o.status === "cancelled")).toBe(true);
      const future = await http(`/orders?from=${encodeURIComponent(new Date(Date.now() + 86_400_000).toISOString())}`, {
        headers: as(admin),
      });
      expect(future.body.total).toBe(0);
      expect((await http("/orders?status=lost", { headers: as(admin) })).status).toBe(422);
    });
  });

  describe("failures", () => {
    test("compensation: when saving the order fails after reserving, the stock is released", async () => {
      const p = await product({ stock: 4 });
      const orders = node.broker.getLocalService("orders") as any;
      const db = orders.adapter.db;
      const original = db.query;
      db.query = async function (this: unknown, sql: unknown, ...rest: unknown[]) {
        if (String(sql).startsWith("INSERT INTO orders")) throw new Error("simulated database failure while saving the order");
        return original.call(this, sql, ...rest);
      };
      try {
        const res = await checkout(alice.token, [{ productId: p.id, quantity: 3 }]);
        expect(res.status).toBe(500);
        expect(JSON.stringify(res.body)).not.toMatch(/simulated/);
      } finally {
        db.query = original;
      }
      expect(await stockOf(p.id)).toBe(4);
      const ledger = (node.broker.getLocalService("products") as any).reservations;
      // The ledger and the orders agree: every held reservation belongs to a live order.
      const held = await ledger.count({ where: { status: [...HELD_RESERVATION_STATUSES] } });
      expect(held).toBe(await orders.adapter.model.count({ where: { status: ["pending", "paid", "shipped", "delivered"] } }));
      expect(held).toBeGreaterThan(5);
    });

    test("a checkout that cannot save its order within the deadline rolls back and releases (reconciliation never races it)", async () => {
      const p = await product({ stock: 4 });
      const orders = node.broker.getLocalService("orders") as any;
      const deadline = orders.settings.saveDeadlineMs;
      // The shipped deadline is half the reconciliation grace period (≥ 5 minutes); here, none.
      expect(deadline).toBeGreaterThanOrEqual(5 * 60_000);
      const before = await orders.adapter.model.count();
      orders.settings.saveDeadlineMs = -1;
      try {
        const res = await checkout(alice.token, [{ productId: p.id, quantity: 3 }]);
        expect(res).toMatchObject({ status: 503, body: { type: "CHECKOUT_TOO_SLOW" } });
      } finally {
        orders.settings.saveDeadlineMs = deadline;
      }
      expect(await stockOf(p.id)).toBe(4);
      expect(await orders.adapter.model.count()).toBe(before);
    });
  });
});

/**
 * products on real PostgreSQL, through the broker (writes, as an admin) and through the
 * gateway over HTTP (reads, errors, access). Own database, dropped afterwards.
 */
import { randomUUID } from "node:crypto";
import { describeWithServers } from "../support/servers.ts";
import { startTestShop, http, type TestNode } from "../support/node.ts";
import { until } from "../../scripts/support/until.ts";

const suite = await describeWithServers("postgres");

const admin = { meta: { user: { id: randomUUID(), role: "admin" } } };
const shopper = { meta: { user: { id: randomUUID(), role: "user" } } };

suite("products on PostgreSQL", () => {
  let node: TestNode & { databaseUrl: string };
  const events: { event: string; payload: any }[] = [];

  const create = (fields: Record<string, unknown>) =>
    node.broker.call<any, any>("products.create", { priceCents: 1000, currency: "EUR", stock: 5, ...fields }, admin);

  beforeAll(async () => {
    node = await startTestShop("products", { CACHER: "memory" });
    node.broker.createService({
      name: "listener",
      events: {
        "products.*"(ctx: any) {
          events.push({ event: ctx.eventName, payload: ctx.params });
        },
      },
    });
    await node.broker.waitForServices(["listener"]);
  });

  afterAll(async () => {
    await node?.stop();
  });

  describe("writes through the broker", () => {
    test("an admin creates a product: public fields only, UUID id, timestamps, event after commit", async () => {
      const p = await create({ sku: "MUG-1", name: "Blue mug", description: "A mug", stock: 3 });
      expect(p).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        sku: "MUG-1",
        name: "Blue mug",
        description: "A mug",
        priceCents: 1000,
        currency: "EUR",
        stock: 3,
        active: true,
        images: [],
        imageUrls: [],
        // ISO-8601 strings, as JSON writes them: a cached copy then holds no Date to serialise on every hit.
        createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      });
      await until("products.created", () => events.some((e) => e.event === "products.created" && e.payload.id === p.id));
      expect(events).toContainEqual({ event: "products.created", payload: expect.objectContaining({ id: p.id, sku: "MUG-1" }) });
    });

    test("without a principal it is a 401, as a shopper a 403", async () => {
      await expect(node.broker.call("products.create", { sku: "X-1", name: "x", priceCents: 1, currency: "EUR" })).rejects.toMatchObject({
        code: 401,
      });
      await expect(
        node.broker.call("products.create", { sku: "X-1", name: "x", priceCents: 1, currency: "EUR" }, shopper),
      ).rejects.toMatchObject({ code: 403 });
    });

    test("a duplicate sku is a 409 and changes nothing", async () => {
      await create({ sku: "DUP-1", name: "first" });
      await expect(create({ sku: "DUP-1", name: "second" })).rejects.toMatchObject({
        code: 409,
        type: "CONFLICT",
        data: { fields: ["sku"] },
      });
      const page = await node.broker.call<any, any>("products.list", { search: "DUP-1" }, admin);
      expect(page.rows.map((r: any) => r.name)).toEqual(["first"]);
    });

    test.each([
      [{ name: "no sku", priceCents: 1, currency: "EUR" }, "sku"],
      [{ sku: "A-1", name: "", priceCents: 1, currency: "EUR" }, "name"],
      [{ sku: "A-1", name: "n", priceCents: -1, currency: "EUR" }, "priceCents"],
      [{ sku: "A-1", name: "n", priceCents: 1.5, currency: "EUR" }, "priceCents"],
      [{ sku: "A-1", name: "n", priceCents: 1, currency: "XYZ" }, "currency"],
      [{ sku: "A-1", name: "n", priceCents: 1, currency: "eur" }, "currency"],
      [{ sku: "A-1", name: "n", priceCents: 1, currency: "EUR", stock: -2 }, "stock"],
      [{ sku: "bad sku!", name: "n", priceCents: 1, currency: "EUR" }, "sku"],
      [{ sku: "A-1", name: "n", priceCents: 1, currency: "EUR", id: randomUUID() }, "id"],
      [{ sku: "A-1", name: "n", priceCents: 1, currency: "EUR", createdAt: "2000-01-01" }, "createdAt"],
    ])("invalid create %j → 422 naming %s", async (params, field) => {
      const err: any = await node.broker.call("products.create", params, admin).catch((e) => e);
      expect(err.code).toBe(422);
      // Unknown fields are reported by the validator as "forbidden keys" (`actual`).
      expect(err.data.map((d: any) => d.field ?? d.actual)).toContain(field);
    });

    test("update: changes fields, 404 for unknown ids, 422 when empty, 409 on a taken sku", async () => {
      const p = await create({ sku: "UPD-1", name: "old" });
      await create({ sku: "UPD-2", name: "other" });
      const u = await node.broker.call<any, any>("products.update", { id: p.id, name: "new", stock: 9 }, admin);
      expect(u).toMatchObject({ id: p.id, name: "new", stock: 9, sku: "UPD-1" });
      expect(new Date(u.updatedAt).getTime()).toBeGreaterThanOrEqual(new Date(p.updatedAt).getTime());
      await expect(node.broker.call("products.update", { id: randomUUID(), name: "x" }, admin)).rejects.toMatchObject({ code: 404 });
      await expect(node.broker.call("products.update", { id: "not-a-uuid", name: "x" }, admin)).rejects.toMatchObject({ code: 404 });
      await expect(node.broker.call("products.update", { id: p.id }, admin)).rejects.toMatchObject({ code: 422 });
      await expect(node.broker.call("products.update", { id: p.id, sku: "UPD-2" }, admin)).rejects.toMatchObject({ code: 409 });
      await expect(node.broker.call("products.update", { id: p.id, stock: -1 }, admin)).rejects.toMatchObject({ code: 422 });
    });

    test("remove: gone afterwards, 404 the second time", async () => {
      const p = await create({ sku: "DEL-1", name: "doomed" });
      await node.broker.call("products.remove", { id: p.id }, admin);
      await expect(node.broker.call("products.get", { id: p.id }, admin)).rejects.toMatchObject({ code: 404 });
      await expect(node.broker.call("products.remove", { id: p.id }, admin)).rejects.toMatchObject({ code: 404 });
    });
  });

  describe("reads over HTTP", () => {
    let widget: any;
    let hidden: any;
    beforeAll(async () => {
      widget = await create({ sku: "WID-1", name: "Blue Widget", description: "for 50% less", priceCents: 2500, stock: 0 });
      await create({ sku: "WID-2", name: "red widget", priceCents: 500, stock: 10 });
      await create({ sku: "GAD-1", name: "Gadget", description: "pairs with a WIDGET", priceCents: 9900, stock: 1, currency: "USD" });
      hidden = await create({ sku: "HID-1", name: "Hidden widget", active: false });
    });

    test("GET /api/products/:id", async () => {
      const res = await http(`${node.api}/products/${widget.id}`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: widget.id, name: "Blue Widget", priceCents: 2500 });
      expect(typeof res.body.createdAt).toBe("string");
      expect(res.headers.get("x-request-id")).toBeTruthy();
    });

    test("unknown, malformed and inactive ids are all 404", async () => {
      for (const id of [randomUUID(), "abc", "1%20OR%201%3D1", hidden.id]) {
        const res = await http(`${node.api}/products/${id}`);
        expect(res.status).toBe(404);
        expect(res.body).toMatchObject({ code: 404, type: "NOT_FOUND" });
      }
      // an admin still sees the inactive one
      await expect(node.broker.call("products.get", { id: hidden.id }, admin)).resolves.toMatchObject({ active: false });
    });

    test("search is case-insensitive on name, sku and description; inactive products are hidden", async () => {
      const res = await http(`${node.api}/products?search=WIDGET&sort=sku`);
      expect(res.status).toBe(200);
      expect(res.body.rows.map((r: any) => r.sku)).toEqual(["GAD-1", "WID-1", "WID-2"]);
      expect(res.body).toMatchObject({ total: 3, page: 1, pageSize: 20, totalPages: 1 });
      const pct = await http(`${node.api}/products?search=${encodeURIComponent("50%")}`);
      expect(pct.body.rows.map((r: any) => r.sku)).toEqual(["WID-1"]);
    });

    test("filters: price range, stock, currency", async () => {
      const q = async (qs: string) => (await http(`${node.api}/products?search=widget&sort=sku&${qs}`)).body.rows.map((r: any) => r.sku);
      expect(await q("minPrice=1000")).toEqual(["GAD-1", "WID-1"]);
      expect(await q("maxPrice=2500")).toEqual(["WID-1", "WID-2"]);
      expect(await q("minPrice=1000&maxPrice=5000")).toEqual(["WID-1"]);
      expect(await q("inStock=true")).toEqual(["GAD-1", "WID-2"]);
      expect(await q("inStock=false")).toEqual(["WID-1"]);
      expect(await q("currency=USD")).toEqual(["GAD-1"]);
    });

    test("pagination and sorting", async () => {
      const first = await http(`${node.api}/products?search=widget&sort=-priceCents&pageSize=2`);
      expect(first.body).toMatchObject({ total: 3, page: 1, pageSize: 2, totalPages: 2 });
      expect(first.body.rows.map((r: any) => r.sku)).toEqual(["GAD-1", "WID-1"]);
      const second = await http(`${node.api}/products?search=widget&sort=-priceCents&pageSize=2&page=2`);
      expect(second.body.rows.map((r: any) => r.sku)).toEqual(["WID-2"]);
      const capped = await http(`${node.api}/products?pageSize=5000`);
      expect(capped.body.pageSize).toBe(100);
    });

    test.each([
      ["sort=password", "sort"],
      ["page=abc", "page"],
      ["page=0", "page"],
      ["minPrice=-5", "minPrice"],
      ["inStock=perhaps", "inStock"],
      ["currency=euro", "currency"],
      ["secret=1", "secret"],
    ])("bad query %s → 422 naming %s", async (qs, field) => {
      const res = await http(`${node.api}/products?${qs}`);
      expect(res.status).toBe(422);
      expect(res.body).toMatchObject({ name: "ValidationError", code: 422, type: "VALIDATION_ERROR" });
      expect(res.body.data.map((d: any) => d.field)).toContain(field);
    });

    test("reads are cached, and a change through the service is seen at once", async () => {
      const p = await create({ sku: "CACHE-1", name: "before" });
      expect((await http(`${node.api}/products/${p.id}`)).body.name).toBe("before");
      // The cached copy holds its times as strings, the same text the HTTP response carries.
      const cached = await node.broker.call<any, any>("products.get", { id: p.id }, shopper);
      expect(typeof cached.createdAt).toBe("string");
      expect((await http(`${node.api}/products/${p.id}`)).body).toEqual(cached);
      // Behind the service's back: the cached copy is still served (proof the cache is used) ...
      const sequelize = (node.broker.getLocalService("products") as any).adapter.db;
      await sequelize.query(`UPDATE products SET name = 'sneaky' WHERE id = '${p.id}'`);
      expect((await http(`${node.api}/products/${p.id}`)).body.name).toBe("before");
      // ... and a change through the service cleans it.
      await node.broker.call("products.update", { id: p.id, name: "after" }, admin);
      expect((await http(`${node.api}/products/${p.id}`)).body.name).toBe("after");
    });
  });

  describe("database outages", () => {
    test("connections killed by the server (57P01) cost a retry, not a crash or a 500", async () => {
      const p = await create({ sku: "OUTAGE-1", name: "survivor" });
      const pg = (await import("pg")).default;
      const adminClient = new pg.Client({ connectionString: node.databaseUrl });
      await adminClient.connect();
      try {
        for (let round = 0; round < 3; round++) {
          const { rowCount } = await adminClient.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
          );
          expect(rowCount).toBeGreaterThan(0);
          // uncached reads, so each one needs the database
          const res = await http(`${node.api}/products?search=survivor&page=${round + 1}`);
          expect(res.status).toBe(200);
          const one = await node.broker.call<any, any>("products.update", { id: p.id, stock: round }, admin);
          expect(one.stock).toBe(round);
        }
      } finally {
        await adminClient.end();
      }
    });
  });

  describe("the gateway's rules", () => {
    test("writes need credentials: 401 with WWW-Authenticate, never a back door", async () => {
      for (const [method, path] of [
        ["POST", "/products"],
        ["PATCH", `/products/${randomUUID()}`],
        ["DELETE", `/products/${randomUUID()}`],
      ]) {
        const res = await http(`${node.api}${path}`, { method, json: { sku: "HTTP-1", name: "n", priceCents: 1, currency: "EUR" } });
        expect(res.status).toBe(401);
        expect(res.headers.get("www-authenticate")).toMatch(/Bearer/);
        expect(res.body).toMatchObject({ code: 401 });
      }
      const forged = await http(`${node.api}/products`, {
        method: "POST",
        headers: { authorization: "Bearer eyJhbGciOiJub25lIn0.eyJyb2xlIjoiYWRtaW4ifQ." },
        json: {},
      });
      expect(forged.status).toBe(401);
      const odd = await http(`${node.api}/products`, { headers: { authorization: "Digest abc" } });
      expect(odd.status).toBe(401);
    });

    test("malformed JSON → 400, wrong media type → 415, too large → 413, all JSON", async () => {
      const bad = await http(`${node.api}/products`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{not json",
      });
      expect(bad).toMatchObject({ status: 400, body: { code: 400, type: "MALFORMED_BODY" } });
      const text = await http(`${node.api}/products`, { method: "POST", headers: { "content-type": "text/plain" }, body: "hello" });
      expect(text).toMatchObject({ status: 415, body: { code: 415, type: "UNSUPPORTED_MEDIA_TYPE" } });
      const big = await http(`${node.api}/products`, { method: "POST", json: { description: "x".repeat(2 * 1024 * 1024) } });
      expect(big).toMatchObject({ status: 413, body: { code: 413 } });
    });

    test("nothing unaliased is reachable", async () => {
      for (const path of [
        "/products.list",
        "/products/ready",
        "/api/list-aliases",
        "/list-aliases",
        "/products.ready",
        "/~node/list",
        "/$node/services",
        "/api/live",
        "/nothing",
      ]) {
        const res = await http(`${node.api}${path}`);
        expect([404]).toContain(res.status);
        expect(res.body).toMatchObject({ code: 404 });
      }
      // A path that exists, with a method it does not take: 405 and what it takes.
      const wrongMethod = await http(`${node.api}/health/live`, { method: "DELETE" });
      expect(wrongMethod.status).toBe(405);
      expect(wrongMethod.headers.get("allow")).toBe("GET");
    });

    test("health: live and ready", async () => {
      expect(await http(`${node.api}/health/live`)).toMatchObject({ status: 200, body: { status: "ok" } });
      expect(await http(`${node.api}/health/ready`)).toMatchObject({ status: 200, body: { status: "ok", services: { products: "ok" } } });
    });
  });
});

/**
 * The Postman collection (docs/postman), as `npm run test:postman` runs it: newman against
 * a fresh cluster of real processes over RabbitMQ and PostgreSQL (scripts/postman.ts does
 * the work; this only judges the result). Also a few checks of the collection's own shape
 * that need no server: every request asserts something, and every variable is defined.
 */
import { readFileSync } from "node:fs";
import { describeWithServers } from "../support/servers.ts";
import { runPostmanAgainstFreshCluster, COLLECTION, ENVIRONMENT } from "../../scripts/postman.ts";

interface Item {
  name: string;
  item?: Item[];
  request?: { method: string; url: { raw: string } };
  event?: { listen: string; script: { exec: string[] } }[];
}
const collection = JSON.parse(readFileSync(COLLECTION, "utf8")) as Item & { variable: { key: string }[]; event: Item["event"]; info: { schema: string } };
const environment = JSON.parse(readFileSync(ENVIRONMENT, "utf8")) as { values: { key: string }[] };
const requests = (items: Item[], trail: string[] = []): { path: string; item: Item }[] =>
  items.flatMap((i) => (i.item ? requests(i.item, [...trail, i.name]) : [{ path: [...trail, i.name].join(" › "), item: i }]));

describe("the Postman collection's shape", () => {
  const all = requests(collection.item ?? []);

  test("is a v2.1 collection whose every request has pm.test assertions", () => {
    expect(collection.info.schema).toBe("https://schema.getpostman.com/json/collection/v2.1.0/collection.json");
    expect(all.length).toBeGreaterThan(25);
    const untested = all.filter(({ item }) => !item.event?.some((e) => e.listen === "test" && e.script.exec.join("\n").includes("pm.test(")));
    expect(untested.map((r) => r.path)).toEqual([]);
  });

  test("every {{variable}} is a collection or environment variable (or a Postman dynamic one)", () => {
    const defined = new Set([...collection.variable.map((v) => v.key), ...environment.values.map((v) => v.key)]);
    const used = new Set([...JSON.stringify(collection).matchAll(/\{\{([^{}]+)\}\}/g)].map((m) => m[1]!).filter((v) => !v.startsWith("$")));
    expect([...used].filter((v) => !defined.has(v))).toEqual([]);
    expect(environment.values.map((v) => v.key).sort()).toEqual(["adminEmail", "adminPassword", "baseUrl"]);
  });

  test("covers the flow: register → 2FA → admin → idempotent checkout → lifecycle → cancel → OAuth client → logout", () => {
    const routes = all.map(({ item }) => `${item.request!.method} ${item.request!.url.raw.replace("{{baseUrl}}", "").split("?")[0]}`);
    const order = [
      "POST /auth/register",
      "POST /auth/login",
      "GET /users/me",
      "POST /auth/2fa/setup",
      "POST /auth/2fa/enable",
      "POST /auth/login/totp",
      "POST /products",
      "POST /orders",
      "PATCH /orders/{{orderId}}/status",
      "POST /orders/{{secondOrderId}}/cancel",
      "POST /clients",
      "POST /auth/token",
      "POST /auth/logout",
    ];
    let at = -1;
    for (const route of order) {
      const next = routes.indexOf(route, at + 1);
      expect(`${route} ${next > at ? "in order" : "missing or out of order"}`).toBe(`${route} in order`);
      at = next;
    }
  });
});

const suite = await describeWithServers("postgres", "rabbitmq");

suite("npm run test:postman: the collection against a fresh cluster", () => {
  test("every request and every assertion passes", async () => {
    const result = await runPostmanAgainstFreshCluster({ reporters: [] });
    if (result.failures.length) {
      for (const [id, output] of Object.entries(result.nodeOutput)) if (output.trim()) console.log(`--- ${id}\n${output.slice(-4000)}`);
    }
    expect(result.failures).toEqual([]);
    expect(result.requests).toEqual({ total: requests(collection.item ?? []).length, failed: 0 });
    expect(result.assertions.failed).toBe(0);
    expect(result.assertions.total).toBeGreaterThanOrEqual(result.requests.total);
  }, 180_000);
});

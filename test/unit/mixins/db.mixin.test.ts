/**
 * The db mixin's cache cleaning: moleculer-db broadcasts `cache.clean.<service>` (the
 * service's name, which need not be the table's) after a change; every replica must listen
 * to exactly that event, or the others keep serving stale cached reads.
 */
import { jest } from "@jest/globals";
import { Errors, ServiceBroker } from "moleculer";
import { ConnectionRefusedError, DataTypes } from "sequelize";
import { DbMixin } from "../../../mixins/db.mixin.ts";
import { DatabaseUnavailableError } from "../../../integrations/database/sequelize.ts";

type Handlers = Record<string, (ctx: unknown) => Promise<unknown>>;
const eventsOf = (service: unknown) => (service as { events: Handlers }).events;

function things(name: string, version?: number) {
  return {
    name,
    ...(version === undefined ? {} : { version }),
    mixins: [
      DbMixin({
        table: "stored_things",
        attributes: { label: { type: DataTypes.STRING } },
        publicFields: ["label"],
        sortable: ["label"],
        defaultSort: "label",
      }),
    ],
  };
}

describe("db mixin cache cleaning", () => {
  let broker: ServiceBroker;
  beforeEach(() => {
    broker = new ServiceBroker({ logger: false, cacher: "Memory" });
  });

  test("listens to cache.clean.<service name>, not to the table's name", async () => {
    const service = broker.createService(things("things"));
    const events = Object.keys(eventsOf(service));
    expect(events).toContain("cache.clean.things");
    expect(events).not.toContain("cache.clean.stored_things");

    // The event drops this node's cached reads of the service.
    await broker.cacher!.set("things.get:1", { label: "cached" });
    await broker.cacher!.set("others.get:1", { label: "kept" });
    expect(await broker.cacher!.get("things.get:1")).toEqual({ label: "cached" });
    await eventsOf(service)["cache.clean.things"]!({});
    expect(await broker.cacher!.get("things.get:1")).toBeFalsy();
    expect(await broker.cacher!.get("others.get:1")).toEqual({ label: "kept" });
  });

  test("after a change, a service that caches reads broadcasts cache.clean.<service>; one that caches nothing sends nothing", async () => {
    const cached = broker.createService({
      ...things("cached"),
      actions: { read: { access: "internal", cache: { keys: ["id"] }, handler: () => null } },
    }) as unknown as { clearCache(): Promise<unknown> };
    const uncached = broker.createService({
      ...things("uncached"),
      actions: { read: { access: "internal", handler: () => null } },
    }) as unknown as { clearCache(): Promise<unknown> };
    const broadcasts: string[] = [];
    jest.spyOn(broker, "broadcast").mockImplementation(async (event) => void broadcasts.push(String(event)));
    await broker.cacher!.set("cached.read:1", { label: "cached" });
    await cached.clearCache();
    await uncached.clearCache();
    expect(broadcasts).toEqual(["cache.clean.cached"]);
    expect(await broker.cacher!.get("cached.read:1")).toBeFalsy();
  });

  test("a versioned service listens under its full name", () => {
    const service = broker.createService(things("things", 2));
    expect(Object.keys(eventsOf(service))).toContain("cache.clean.v2.things");
  });
});

describe("db mixin error mapping", () => {
  const broker = new ServiceBroker({ logger: false });
  const service = broker.createService(things("mapped")) as unknown as { mapDbError(err: unknown): unknown };

  test("a database that cannot be reached is DATABASE_UNAVAILABLE (503)", () => {
    const refused = new ConnectionRefusedError(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" }));
    expect(service.mapDbError(refused)).toBeInstanceOf(DatabaseUnavailableError);
    expect(service.mapDbError(new Error("Connection terminated unexpectedly"))).toBeInstanceOf(DatabaseUnavailableError);
  });

  test("an error its thrower already typed passes unchanged, whatever its message quotes", () => {
    // An OpenID provider that cannot be reached: the service's own 503, not the database's.
    const message = "Signing in with this provider is not possible right now: down cannot be reached (ECONNREFUSED).";
    const provider = new Errors.MoleculerError(message, 503, "OIDC_PROVIDER_UNAVAILABLE");
    expect(service.mapDbError(provider)).toBe(provider);
    const client = new Errors.MoleculerClientError("Connection terminated by the user.", 409, "CONFLICT");
    expect(service.mapDbError(client)).toBe(client);
  });
});

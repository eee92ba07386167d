/**
 * middlewares/ownership.ts on a real broker (in process), in the order moleculer.config.ts
 * registers it: after the access check, before the handler. The service stands in for a db
 * mixin service: `findPlainRow` answers from a table in memory and counts its calls.
 */
import { Errors, ServiceBroker, type Context, type ServiceSchema } from "moleculer";
import { AccessMiddleware } from "../../../middlewares/access.ts";
import { OwnershipMiddleware, maySee, ownedEntity, ownedScope, scopeOf, type Ownership } from "../../../middlewares/ownership.ts";
import type { Principal } from "../../../lib/access.ts";
import type { ShopMeta } from "../../../types/moleculer.d.ts";

const ALICE: Principal = { id: "alice", role: "user" };
const BOB: Principal = { id: "bob", role: "user" };
const ADMIN: Principal = { id: "admin", role: "admin" };
const ROOT: Principal = { id: "root", role: "superuser" };

type Note = { id: string; ownerId: string; status: "ready" | "pending"; public: boolean };
const NOTES: Note[] = [
  { id: "n-alice", ownerId: "alice", status: "ready", public: false },
  { id: "n-alice-public", ownerId: "alice", status: "ready", public: true },
  { id: "n-alice-pending", ownerId: "alice", status: "pending", public: true },
  { id: "n-bob", ownerId: "bob", status: "ready", public: false },
];

const OWN: Ownership = { entity: "Note", owner: "ownerId", staff: "admin" };
let lookups = 0;

const notes: ServiceSchema = {
  name: "notes",
  actions: {
    get: { access: "authenticated", ownership: OWN, handler: (ctx: Context) => ownedEntity<Note>(ctx) },
    mine: { access: "authenticated", ownership: { entity: "Note", owner: "ownerId" }, handler: (ctx: Context) => ownedEntity<Note>(ctx) },
    read: {
      access: "public",
      ownership: { ...OWN, anyone: { public: true }, only: { status: "ready" } },
      handler: (ctx: Context) => ownedEntity<Note>(ctx),
    },
    list: { access: "authenticated", ownership: { ...OWN, list: true }, handler: (ctx: Context) => ownedScope(ctx) },
    undeclared: { access: "public", handler: (ctx: Context) => ownedEntity<Note>(ctx) },
  },
  methods: {
    async findPlainRow(id: unknown) {
      lookups++;
      const note = NOTES.find((n) => n.id === id);
      return note ? { ...note } : null;
    },
  },
};

describe("OwnershipMiddleware", () => {
  const broker = new ServiceBroker({ logger: false, middlewares: [OwnershipMiddleware, AccessMiddleware] });
  broker.createService(notes);
  beforeAll(() => broker.start());
  afterAll(() => broker.stop());
  beforeEach(() => {
    lookups = 0;
  });

  // (The access middleware throws as the call is made: a rejection, as for any caller that awaits.)
  const call = async (action: string, id: string | undefined, user?: Principal) =>
    broker.call(`notes.${action}`, id === undefined ? {} : { id }, { meta: { user } satisfies ShopMeta });
  /** The error a call fails with, as the client would see it. */
  const refusal = (promise: Promise<unknown>) =>
    promise.then(
      () => null,
      (err: Errors.MoleculerError) => ({ name: err.name, message: err.message, code: err.code, type: err.type, data: err.data }),
    );

  test("the owner gets the row, loaded once and handed to the handler", async () => {
    await expect(call("get", "n-alice", ALICE)).resolves.toEqual(NOTES[0]);
    expect(lookups).toBe(1);
  });

  test("someone else's row is answered exactly as a missing one: the same 404", async () => {
    const notYours = await refusal(call("get", "n-alice", BOB));
    const missing = await refusal(call("get", "n-nobody", BOB));
    expect(notYours).toEqual({
      name: "MoleculerClientError",
      message: "Note not found.",
      code: 404,
      type: "NOT_FOUND",
      data: { id: "n-alice" },
    });
    expect({ ...missing, data: undefined }).toEqual({ ...notYours, data: undefined });
    expect(missing?.data).toEqual({ id: "n-nobody" });
  });

  test("staff see every row from their role up; an action without `staff` is for owners only", async () => {
    await expect(call("get", "n-bob", ADMIN)).resolves.toMatchObject({ id: "n-bob" });
    await expect(call("get", "n-bob", ROOT)).resolves.toMatchObject({ id: "n-bob" });
    expect((await refusal(call("mine", "n-bob", ADMIN)))?.code).toBe(404);
    await expect(call("mine", "n-bob", BOB)).resolves.toMatchObject({ id: "n-bob" });
  });

  test("`anyone` rows are seen by anybody, signed in or not; `only` hides the other rows from everyone", async () => {
    await expect(call("read", "n-alice-public")).resolves.toMatchObject({ id: "n-alice-public" });
    expect((await refusal(call("read", "n-alice")))?.code).toBe(404);
    // A row without the `only` values does not exist: not for anybody, its owner or staff either.
    for (const who of [undefined, ALICE, ADMIN]) expect((await refusal(call("read", "n-alice-pending", who)))?.code).toBe(404);
    await expect(call("get", "n-alice-pending", ALICE)).resolves.toMatchObject({ status: "pending" });
  });

  test("the access check comes first: no principal is a 401 and nothing is loaded", async () => {
    expect((await refusal(call("get", "n-alice")))?.code).toBe(401);
    expect(lookups).toBe(0);
  });

  test("a list gets the conditions of the caller's rows; staff get none", async () => {
    await expect(call("list", undefined, ALICE)).resolves.toEqual({ ownerId: "alice" });
    await expect(call("list", undefined, ADMIN)).resolves.toEqual({});
    expect(lookups).toBe(0);
  });

  test("a handler that reads an entity its action does not declare fails loudly", async () => {
    await expect(call("undeclared", "n-alice", ALICE)).rejects.toThrow(/no owned entity/);
  });

  test("a declaration that cannot work stops the service from being created", () => {
    const broken = (name: string, ownership: Ownership, withRows = true): ServiceSchema => ({
      name,
      actions: { get: { access: "public", ownership, handler: () => null } },
      ...(withRows ? { methods: { findPlainRow: async () => null } } : {}),
    });
    const local = new ServiceBroker({ logger: false, middlewares: [OwnershipMiddleware] });
    expect(() => local.createService(broken("rowless", OWN, false))).toThrow(/findPlainRow/);
    expect(() => local.createService(broken("nobody", { entity: "X" }))).toThrow(/names nobody/);
    expect(() => local.createService(broken("both", { ...OWN, anyone: { public: true }, list: true }))).toThrow(/not by both/);
  });
});

describe("the rules (pure)", () => {
  const row = { ownerId: "alice", active: false };
  test("maySee: owner, staff from its role up, anyone by values", () => {
    expect(maySee(OWN, row, ALICE)).toBe(true);
    expect(maySee(OWN, row, BOB)).toBe(false);
    expect(maySee(OWN, row, null)).toBe(false);
    expect(maySee(OWN, row, ROOT)).toBe(true);
    const products: Ownership = { entity: "Product", staff: "admin", anyone: { active: true } };
    expect(maySee(products, row, ALICE)).toBe(false);
    expect(maySee(products, { active: true }, null)).toBe(true);
    expect(maySee(products, row, ADMIN)).toBe(true);
  });

  test("scopeOf: the owner's rows, or the `anyone` rows, plus `only`; staff only `only`", () => {
    expect(scopeOf({ ...OWN, only: { status: "ready" } }, BOB)).toEqual({ status: "ready", ownerId: "bob" });
    expect(scopeOf({ ...OWN, only: { status: "ready" } }, ADMIN)).toEqual({ status: "ready" });
    expect(scopeOf({ entity: "Product", staff: "admin", anyone: { active: true } }, null)).toEqual({ active: true });
    // Nobody signed in owns nothing: the condition matches no row.
    expect(scopeOf(OWN, null)).toEqual({ ownerId: null });
  });
});

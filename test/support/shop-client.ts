/**
 * A shop's gateway as tests use it, in one place: accounts of each role, products, orders, and
 * the HTTP helpers. Every suite that talks to a shop over HTTP builds one instead of writing
 * its own `signUp` / `product` / `as` / `http`:
 *
 *   const shop = shopClient(() => node);          // a TestNode (startTestShop), or any { api, broker }
 *   const boss = await shop.superuser();          // users.createSuperuser through the broker, signed in
 *   const ada = await shop.shopper("ada");        // registered over HTTP (201), signed in (200)
 *   const p = await shop.product(boss.token, { stock: 3 });   // POST /products (201)
 *   const res = await shop.order(ada.token, p.id, 2);         // the raw response: the test asserts on it
 *
 * Helpers that make something a test needs assert it was made (register 201, sign-in 200,
 * product 201, role change 200); helpers that do what a test examines (`order`, `checkout`,
 * `http`) return the response as it came.
 */
import { randomUUID } from "node:crypto";
import type { ServiceBroker } from "moleculer";
import { http as request } from "./node.ts";

/** Every test account's password (long enough for the password policy, in no blocklist). */
export const PASSWORD = "correct horse battery staple";
/** A valid shipping address (an apostrophe and a postcode with a space, as real ones have). */
export const ADDRESS = { name: "Ada Lovelace", line1: "12 St James's Square", city: "London", postalCode: "SW1Y 4JH", country: "GB" };

export type Role = "user" | "admin" | "superuser";
export type Response = Awaited<ReturnType<typeof request>>;
export type HttpInit = Parameters<typeof request>[1];
/** A signed-in account: its id and address, and the session's tokens. */
export interface Account {
  id: string;
  email: string;
  token: string;
  refreshToken: string;
}
export interface Product {
  id: string;
  sku: string;
  name: string;
  priceCents: number;
  currency: string;
  stock: number;
  active: boolean;
  images: string[];
  imageUrls: string[];
}
export interface OrderLine {
  productId: string;
  quantity: number;
}

/** The Authorization header for a bearer token, with any other headers. */
export const as = (token: string, headers: Record<string, string> = {}): Record<string, string> => ({
  authorization: `Bearer ${token}`,
  ...headers,
});

/** A fresh address for `label`: `ada-1f3c9e2a@example.com` (lower case, as the shop stores it). */
export const uniqueEmail = (label: string) => `${label.toLowerCase()}-${randomUUID().slice(0, 8)}@example.com`;

/**
 * Where the shop is: its gateway URL, or a node with its broker (an in-process TestNode, or a
 * client broker on a cluster's transporter) when the suite makes superusers. A function is
 * read at each call, so a client can be built before `beforeAll` starts the node.
 */
export type ShopTarget = string | { api: string; broker?: Pick<ServiceBroker, "call"> };

/** `what` answered `status`, or the test fails showing what it answered instead. */
function expectStatus(what: string, res: Response, status: number): void {
  expect({ [what]: res.status, body: res.body }).toMatchObject({ [what]: status });
}

export interface ShopClientOptions {
  /** Sees every response this client gets (a suite that checks that no response leaks a secret). */
  onResponse?: (res: Response) => void;
}

export function shopClient(target: ShopTarget | (() => ShopTarget), { onResponse }: ShopClientOptions = {}) {
  const where = () => {
    const t = typeof target === "function" ? target() : target;
    return typeof t === "string" ? { api: t, broker: undefined } : t;
  };
  const http = async (path: string, init: HttpInit = {}) => {
    const res = await request(`${where().api}${path}`, init);
    onResponse?.(res);
    return res;
  };
  const roots = new Map<string, Promise<Account>>();

  /** POST /auth/register (201): the new account's id and address. */
  async function register(label = "shopper", { email = uniqueEmail(label), name = label, password = PASSWORD } = {}) {
    const res = await http("/auth/register", { method: "POST", json: { email, password, name } });
    expectStatus("POST /auth/register", res, 201);
    return { id: res.body.id as string, email };
  }

  /** POST /auth/login (200) with a password alone: the session's tokens. */
  async function signIn(email: string, password = PASSWORD) {
    const res = await http("/auth/login", { method: "POST", json: { email, password } });
    expectStatus("POST /auth/login", res, 200);
    return { token: res.body.accessToken as string, refreshToken: res.body.refreshToken as string };
  }

  /** A superuser made as `npm run createsuperuser` makes one (users.createSuperuser), signed in. */
  async function superuser(label = "boss", { email = uniqueEmail(label), name }: { email?: string; name?: string } = {}): Promise<Account> {
    const broker = where().broker;
    if (!broker) throw new Error("shopClient: making a superuser needs the node's broker ({ api, broker })");
    const params = { email, password: PASSWORD, ...(name ? { name } : {}) };
    const created = await broker.call<{ id: string; email: string }, object>("users.createSuperuser", params);
    return { id: created.id, email: created.email, ...(await signIn(created.email)) };
  }

  /** The suite's first superuser, made once on demand: it grants the roles of `account`. */
  function root(): Promise<Account> {
    const { api } = where();
    if (!roots.has(api)) roots.set(api, superuser("root"));
    return roots.get(api)!;
  }

  /** A shopper: registered over HTTP and signed in. */
  async function shopper(label = "shopper", options: { email?: string; name?: string } = {}): Promise<Account> {
    const { id, email } = await register(label, options);
    return { id, email, ...(await signIn(email)) };
  }

  /**
   * An account of `role`: registered over HTTP, given the role by the root superuser
   * (PATCH /users/{id}, 200), then signed in.
   */
  async function account(role: Role, label: string = role, options: { email?: string; name?: string } = {}): Promise<Account> {
    const { id, email } = await register(label, options);
    if (role !== "user") {
      const promoted = await http(`/users/${id}`, { method: "PATCH", headers: as((await root()).token), json: { role } });
      expectStatus(`PATCH /users/{id} role ${role}`, promoted, 200);
    }
    return { id, email, ...(await signIn(email)) };
  }

  /** POST /products as `token` (201): a product with a unique SKU; `fields` override the defaults. */
  async function product(token: string, fields: Record<string, unknown> = {}): Promise<Product> {
    const json = { sku: `P-${randomUUID().slice(0, 8)}`, name: "Copper kettle", priceCents: 2499, currency: "EUR", stock: 5, ...fields };
    const res = await http("/products", { method: "POST", headers: as(token), json });
    expectStatus("POST /products", res, 201);
    return res.body as Product;
  }

  /** POST /orders as `token` with these lines: the response as it came. */
  const checkout = (token: string, items: unknown, headers: Record<string, string> = {}, shippingAddress: unknown = ADDRESS) =>
    http("/orders", { method: "POST", headers: as(token, headers), json: { items, shippingAddress } });

  return {
    http,
    as,
    register,
    signIn,
    superuser,
    root,
    shopper,
    /** `count` shoppers at once, labelled `label-0`, `label-1`, … */
    shoppers: (count: number, label = "shopper") => Promise.all(Array.from({ length: count }, (_, i) => shopper(`${label}-${i}`))),
    account,
    /** An admin (the role between a user and a superuser): see `account`. */
    admin: (label = "admin", options: { email?: string; name?: string } = {}) => account("admin", label, options),
    product,
    checkout,
    /** One product's order: see `checkout`. */
    order: (token: string, productId: string, quantity = 1, headers: Record<string, string> = {}) =>
      checkout(token, [{ productId, quantity }], headers),
  };
}

export type ShopClient = ReturnType<typeof shopClient>;

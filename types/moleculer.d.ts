/**
 * Moleculer's own types, told once what this shop adds to them (the TypeScript template's
 * `types/` approach): services are plain `ServiceSchema<Settings, Methods, Vars>` objects and
 * their handlers get `this`, `ctx.meta` and the action declarations type-checked.
 *
 *  - every action declares `access` (lib/access.ts): leaving it off is a type error, as
 *    default deny is at run time (middlewares/access.ts, the gateway's authorize hook);
 *  - the shop's other action declarations: `idempotent`, `clientAuthentication`, `cookies`,
 *    `openapi`, `ownership` (`rest` is moleculer-web's own augmentation);
 *  - moleculer-db's `adapter` / `model` and Moleculer's `merged` hook on a service schema;
 *  - `ShopMeta`: the one shape of `ctx.meta`, whatever the gateway or a service puts there;
 *  - `Mixin`: how a typed mixin is listed in any service's `mixins`.
 * (moleculer-db's default export is declared in types/moleculer-db.d.ts.)
 */
import type { ServiceSchema, ServiceMethods } from "moleculer";
import type { Access, Principal } from "../lib/access.ts";
import type { OperationHints } from "../mixins/openapi/hints.ts";
import type { Ownership } from "../middlewares/ownership.ts";

declare module "moleculer" {
  interface ActionSchema {
    /** Who may call this action (lib/access.ts). Required: an action nobody declared is refused anyway. */
    access: Access;
    /**
     * Running it twice is harmless (a read, or a write keyed by an id the action dedupes), so the
     * broker may retry it after a timeout or a lost node. Undeclared: true only for REST `GET`s.
     * Anything else is retried only when the call provably never started (middlewares/retry-policy.ts).
     */
    idempotent?: boolean;
    /** The gateway leaves the Authorization header to the action (OAuth client authentication). */
    clientAuthentication?: boolean;
    /** The gateway passes the request's Cookie header in `ctx.meta.cookie` (only to actions that ask). */
    cookies?: boolean;
    /** What the OpenAPI document cannot derive (mixins/openapi/hints.ts); travels with remote actions. */
    openapi?: OperationHints;
    /** Whose rows the caller may see: loaded and checked, or a list scoped (middlewares/ownership.ts). */
    ownership?: Ownership;
  }

  interface ServiceSchema {
    /** moleculer-db: the adapter (mixins/db.mixin.ts passes the Sequelize one). */
    adapter?: object;
    /** moleculer-db: the model definition the adapter builds its Sequelize model from. */
    model?: object;
    /** Runs on the schema once its mixins are merged (the service's own name is known there). */
    merged?(schema: ServiceSchema): void;
  }
}

/** What travels in `ctx.meta` through a request's calls. */
export interface ShopMeta {
  /** Who is calling (the gateway's authenticate hook); absent or null: nobody signed in. */
  user?: Principal | null;
  /** The client's address (lib/client-ip.ts) and user agent, for rate limits and session records. */
  ip?: string;
  userAgent?: string;
  /** The Authorization header, for the actions that authenticate clients themselves (`clientAuthentication`). */
  authorization?: string;
  /** The Cookie header, for the actions that declare `cookies`. */
  cookie?: string;
  /** The `shop_device` cookie's value, unchecked (users/methods.ts signInAttempt checks it). */
  deviceToken?: string;
  /** The request's Idempotency-Key header (checkout). */
  idempotencyKey?: string;
  /** When the gateway stops waiting for this request (ms since the epoch): work after it is wasted, or worse. */
  deadline?: number;
  /** A raw upload's Content-Type and Content-Length (the signed-URL PUT). */
  uploadContentType?: string;
  uploadContentLength?: string;
  /** moleculer-web's response controls. Set-Cookie may carry several cookies. */
  $statusCode?: number;
  $location?: string;
  $responseType?: string;
  $responseHeaders?: Record<string, string | string[]>;
}

/**
 * A mixin as services list it. A mixin is written as a `ServiceSchema` of its own, so its
 * handlers are checked against its own `this`; a service lists it whatever its own `this` is
 * (its Methods and Vars declare what the mixin adds). Handlers take `this` contravariantly, so
 * only `any` lets one schema stand in every service's `mixins`: this is the one place it is used.
 */
// oxlint-disable-next-line typescript/no-explicit-any -- the bridge described above
export type Mixin = Partial<ServiceSchema<object, ServiceMethods, object, any>>;

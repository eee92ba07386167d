/**
 * The one place where moleculer's typings meet how this project writes services.
 * moleculer 0.15's .d.ts cannot be augmented from outside (its types are re-exported from
 * an `export =` namespace), so services are declared through `defineService`, which:
 *  - requires `access` on every action (lib/access.ts: default deny is also a type error),
 *  - types `this` in handlers and methods as the Service plus the methods the service
 *    and its mixins add (e.g. the db mixin's DbMethods),
 *  - accepts moleculer-web's `rest` and moleculer-db's `adapter` / `model`.
 */
import type { ActionSchema, Context, Service, ServiceSchema } from "moleculer";
import type { Access } from "./access.ts";
import type { OperationHints } from "../mixins/openapi/hints.ts";

export type ServiceThis<TMethods> = Service & TMethods;

export interface ShopAction<TThis> extends Omit<ActionSchema, "handler" | "hooks"> {
  /** Who may call this action. */
  access: Access;
  /** moleculer-web route, e.g. "GET /:id" (relative to the service's `settings.rest`). */
  rest?: string | string[];
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
  handler: (this: TThis, ctx: Context<any, any>) => unknown;
}

export interface ShopServiceSchema<TMethods>
  extends Omit<ServiceSchema, "actions" | "methods" | "settings" | "events" | "hooks" | "mixins" | "merged" | "created" | "started" | "stopped"> {
  mixins?: ServiceSchema[];
  settings?: Record<string, unknown>;
  /** `false` switches off an action inherited from a mixin. */
  actions?: Record<string, ShopAction<ServiceThis<TMethods>> | false>;
  methods?: Record<string, (this: ServiceThis<TMethods>, ...args: any[]) => unknown>;
  /** Runs on the schema once the mixins are merged (the service's own name is known there). */
  merged?: (schema: ServiceSchema) => void;
  created?: (this: ServiceThis<TMethods>) => void;
  started?: (this: ServiceThis<TMethods>) => Promise<void> | void;
  stopped?: (this: ServiceThis<TMethods>) => Promise<void> | void;
  events?: Record<string, { handler: (this: ServiceThis<TMethods>, ctx: Context<any, any>) => unknown }>;
  hooks?: Record<string, Record<string, (this: ServiceThis<TMethods>, ...args: any[]) => unknown>>;
  adapter?: unknown;
  model?: unknown;
}

export function defineService<TMethods = object>(schema: ShopServiceSchema<TMethods>): ServiceSchema {
  return schema as unknown as ServiceSchema;
}

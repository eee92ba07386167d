/**
 * Broker middleware: enforces each action's `access` declaration on every call that
 * carries a principal in `ctx.meta.user` or that declares a role, so a service never
 * relies on the gateway alone. Calls between services (no HTTP in between) may reach
 * `internal` actions; the gateway's authorize hook refuses those from HTTP.
 */
import type { Middleware, Service } from "moleculer";
import { assertAccess, type Access, type Principal } from "../lib/access.ts";

export const AccessMiddleware: Middleware = {
  name: "Access",
  localAction(next, action) {
    const access = (action as { access?: Access }).access;
    if (access === undefined || access === "public" || access === "internal") return next;
    return function checkAccess(this: Service, ctx) {
      assertAccess(access, (ctx.meta as { user?: Principal }).user, false);
      return next.call(this, ctx);
    };
  },
};

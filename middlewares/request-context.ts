/**
 * Broker middleware: each local action and event handler runs inside the request-id scope of
 * its context (lib/request-id.ts), so every log line it writes carries `ctx.requestID`.
 */
import type { Context, Middleware, Service } from "moleculer";
import { withRequestId } from "../lib/request-id.ts";

/** `next` (an action or event handler), run in the scope of its context's request id. */
function inRequestScope<H extends (this: Service, ctx: Context) => unknown>(next: H): H {
  return function inRequestContext(this: Service, ctx: Context) {
    return withRequestId(ctx.requestID, () => next.call(this, ctx));
  } as H;
}

export const RequestContextMiddleware: Middleware = {
  name: "RequestContext",
  localAction: inRequestScope,
  localEvent(next, event) {
    // Moleculer's own events ($services.changed, $node.connected, ...) are not requests: their
    // handlers stay in the scope of whatever caused them, usually none.
    return event.name?.startsWith("$") ? next : inRequestScope(next);
  },
};

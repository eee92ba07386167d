/**
 * The request id of the call being handled, for log lines.
 *
 * Moleculer carries `ctx.requestID` along every call and event of a request, across nodes
 * (the transporter sends it with each packet); the gateway sets it from a sane
 * `X-Request-Id` header or generates one (services/api.service.ts). Loggers, though, are per
 * service, not per call: this module keeps the id of the call being handled in an
 * AsyncLocalStorage scope so that every log line written meanwhile can carry it:
 *
 *  - `RequestContextMiddleware` (middlewares/request-context.ts) runs each local action and
 *    event handler inside a scope holding its `ctx.requestID`; calls it makes on the same node
 *    inherit the scope, calls to other nodes carry `ctx.requestID` and get a scope there;
 *  - `requestIdMixin` is Pino's `mixin` option: it adds `requestId` to every JSON line;
 *  - `consoleFormatter` is moleculer's "short" console format with the id after the module.
 *
 * Work that is not a Moleculer call (a RabbitMQ message, the gateway's error handler) enters a
 * scope with `withRequestId`.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { styleText } from "node:util";

/** What an incoming id may look like: enough for UUIDs, ULIDs and load balancers' trace ids; nothing to escape. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The id itself if it is sane, otherwise undefined (the caller then generates one). */
export function acceptRequestId(value: unknown): string | undefined {
  return typeof value === "string" && SANE_REQUEST_ID.test(value) ? value : undefined;
}

const storage = new AsyncLocalStorage<string | undefined>();

/** The request id of the call being handled here, if any. */
export function currentRequestId(): string | undefined {
  return storage.getStore();
}

/** Runs `fn` (and everything it starts) with `requestId` as the current request id; undefined clears it. */
export function withRequestId<T>(requestId: string | null | undefined, fn: () => T): T {
  const id = requestId ?? undefined;
  // A local call within the same request (the common case) needs no new scope.
  return storage.getStore() === id ? fn() : storage.run(id, fn);
}

/**
 * Pino's `mixin`: `requestId` on every line written inside a request. Pino merges into the returned
 * object, so it is a new one each time.
 */
export function requestIdMixin(): { requestId?: string } {
  const requestId = storage.getStore();
  return requestId === undefined ? {} : { requestId };
}

/**
 * moleculer's "short" console format (`[12:00:00.000Z] INFO  USERS: message`) with the request
 * id after the module name: `[12:00:00.000Z] INFO  USERS: [3f0c…] message`. Moleculer calls a
 * function formatter with the logger as `this`, the bindings and its argument printer.
 */
export function consoleFormatter(
  this: { levelColorStr?: Record<string, string> },
  type: string,
  args: unknown[],
  bindings?: { mod?: string },
  helpers?: { printArgs(args: unknown[]): unknown[] },
): string[] {
  const requestId = storage.getStore();
  const line = [
    styleText("gray", `[${new Date().toISOString().substring(11)}]`),
    // moleculer calls its console formatter on the logger: `this` holds the level colours.
    // oxlint-disable-next-line oxc/no-this-in-exported-function
    this.levelColorStr?.[type] ?? type.toUpperCase().padEnd(5),
    styleText("gray", `${(bindings?.mod ?? "").toUpperCase()}:`),
  ];
  if (requestId !== undefined) line.push(styleText("gray", `[${requestId}]`));
  return line.concat((helpers ? helpers.printArgs(args) : args) as string[]);
}

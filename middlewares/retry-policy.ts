/**
 * Which failed calls the broker may run again. moleculer's Retry middleware does the retrying;
 * this one gives every action, local or remote, the rule it retries by. A timeout is not proof
 * that nothing happened: the callee may still be working, or may have finished a moment after
 * the caller gave up.
 *
 *  - An idempotent action (one declared `idempotent: true`, or a REST `GET`: RFC 9110 makes
 *    those safe) is retried after any error moleculer marks retryable: a timeout, a node that
 *    went away with the call, a node that was stopping.
 *  - Any other action (it changes state: a checkout, a status change, an e-mail, an upload) is
 *    retried only when the error proves that this very call never started: the transporter
 *    could not deliver it (`UNDELIVERED`), or the node refused it because it was stopping
 *    (ServiceNotAvailableError). Both name the action; an error that merely passed through
 *    this action from a call it made proves nothing about the action itself.
 *  - `retryPolicy: { enabled: false }` switches retries off (the gateway's own `api.rest`,
 *    whose request moleculer-web has already consumed).
 *  - A retry never outlives the request: moleculer gives each attempt the call's whole timeout,
 *    so a read whose every replica waited on a stuck database took up to four timeouts (the
 *    client's request 12 s and more with a 10 s timeout). An attempt after the first starts only
 *    before the request's deadline (`meta.deadline`, set by the gateway) and gives up at it, with
 *    a timeout that is not retried again (504).
 */
import { Errors, type ActionSchema, type Context, type Middleware } from "moleculer";

export interface RetryableAction {
  name: string;
  idempotent?: boolean;
  rest?: unknown;
  retryPolicy?: Record<string, unknown>;
}

/** `idempotent: true`, or undeclared with only `GET` routes. */
export function isIdempotent(action: Pick<RetryableAction, "idempotent" | "rest">): boolean {
  if (typeof action.idempotent === "boolean") return action.idempotent;
  const routes = ([] as unknown[]).concat(action.rest ?? []);
  return routes.length > 0 && routes.every((r) => typeof r === "string" && /^GET\s/i.test(r.trim()));
}

/** Did `err` prove that this call of `actionName` never ran? */
export function neverStarted(actionName: string, err: unknown): boolean {
  const e = err as Partial<Errors.MoleculerError> | null;
  if ((e?.data as { action?: unknown } | undefined)?.action !== actionName) return false;
  return e?.type === "UNDELIVERED" || e?.name === "ServiceNotAvailableError";
}

/** May the broker call `action` again after `err`? */
export function mayRetry(action: Pick<RetryableAction, "name" | "idempotent" | "rest">, err: unknown): boolean {
  if (!(err as { retryable?: boolean } | null)?.retryable) return false;
  return isIdempotent(action) || neverStarted(action.name, err);
}

function withRule(action: Pick<ActionSchema, "name" | "idempotent" | "rest" | "retryPolicy">) {
  // Runs before moleculer's Retry middleware wraps the same action (user middlewares come
  // first), which merges `action.retryPolicy` over the broker's.
  const rule = { name: action.name ?? "", idempotent: action.idempotent, rest: action.rest };
  action.retryPolicy = { ...action.retryPolicy, check: (err: unknown) => mayRetry(rule, err) };
}

/** The request's deadline passed: a timeout of `action` that no one retries. */
function pastDeadline(action: string, nodeID: string | null | undefined): Errors.RequestTimeoutError {
  const err = new Errors.RequestTimeoutError({ action, nodeID: nodeID ?? "" });
  err.retryable = false;
  return err;
}

type Handler = (ctx: Context) => Promise<unknown>;

/** `handler`, whose retries (not its first attempt: that one has the call's timeout) end at the request's deadline. */
function retriesWithinDeadline(handler: Handler, action: { name?: string }): Handler {
  return function retryWithinDeadline(ctx: Context) {
    // moleculer's Retry middleware counts the attempts of a call on its context.
    // oxlint-disable-next-line no-underscore-dangle
    const attempt = (ctx as Context & { _retryAttempts?: number })._retryAttempts;
    const deadline = (ctx.meta as { deadline?: unknown } | undefined)?.deadline;
    if (!attempt || typeof deadline !== "number") return handler(ctx);
    const left = deadline - Date.now();
    if (left <= 0) return Promise.reject(pastDeadline(action.name ?? "", ctx.nodeID));
    let timer: NodeJS.Timeout | undefined;
    const expiry = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(pastDeadline(action.name ?? "", ctx.nodeID)), left);
    });
    return Promise.race([handler(ctx), expiry]).finally(() => clearTimeout(timer));
  };
}

export const RetryPolicyMiddleware: Middleware = {
  name: "RetryPolicy",
  localAction(handler, action) {
    withRule(action);
    return retriesWithinDeadline(handler as Handler, action);
  },
  remoteAction(handler, action) {
    withRule(action);
    return retriesWithinDeadline(handler as Handler, action);
  },
};

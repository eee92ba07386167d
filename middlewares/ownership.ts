/**
 * Broker middleware: ownership declared next to the action (as icebob/kantab's `needEntity`)
 * instead of written in each handler. An action declares whose rows its caller may see:
 *
 *   ownership: { entity: "Order", owner: "userId", staff: "admin" }
 *
 *  - an action on one row (its `id` param: get, cancel, remove, ...) gets that row, loaded once
 *    with the service's `findPlainRow` (the db mixin), as plain values in `ctx.locals.entity`. A row
 *    the caller may not see is answered exactly as a missing one: `notFound(entity, id)`, never
 *    a 403 that would tell a stranger the id exists;
 *  - a list (`list: true`) gets `ctx.locals.scope`, the equality conditions of the rows the
 *    caller may see (`{}` for staff), to put last in its query's `where`.
 *
 * Who sees a row: its owner (`owner`: the column holding a user id), a caller with the `staff`
 * role or a higher one (per action; none: only the owner, even for staff), and anyone, signed
 * in or not, when the row has the `anyone` values (a public file, an active product). `only`:
 * a row without those values does not exist for the action at all (a file still uploading).
 *
 * It runs after the access check (it is listed before AccessMiddleware in moleculer.config.ts:
 * the first middleware wraps the handler innermost) and after parameter validation.
 */
import type { ActionSchema, Context, Middleware, Service } from "moleculer";
import { hasRole, type Principal, type Role } from "../lib/access.ts";
import { notFound } from "../lib/errors.ts";

export interface Ownership {
  /** The entity's name in the 404 ("Order not found."). */
  entity: string;
  /** The column holding the id of the user who owns the row; none: rows have no owner. */
  owner?: string;
  /** From this role up, a caller sees every row; none: only owners do, staff too. */
  staff?: Role;
  /** Rows with these values anyone may see. */
  anyone?: Record<string, unknown>;
  /** Rows without these values do not exist for this action. */
  only?: Record<string, unknown>;
  /** A list: `ctx.locals.scope` instead of loading `ctx.params.id`. */
  list?: boolean;
}

/** The row the middleware loaded for the action (it declares `ownership`): all its columns. */
export function ownedEntity<TRow extends object>(ctx: Pick<Context, "locals" | "action">): TRow {
  const row: unknown = ctx.locals.entity;
  if (typeof row !== "object" || row === null) throw new Error(`${ctx.action?.name}: no owned entity (declare \`ownership\`).`);
  return row as TRow;
}

/** The conditions of the rows the caller may see, for a list that declares `ownership: { list: true }`. */
export function ownedScope(ctx: Pick<Context, "locals" | "action">): Record<string, unknown> {
  const scope: unknown = ctx.locals.scope;
  if (typeof scope !== "object" || scope === null) {
    throw new Error(`${ctx.action?.name}: no ownership scope (declare \`ownership: { list: true }\`).`);
  }
  return { ...scope };
}

/** What the middleware needs of the service: the db mixin's `findPlainRow` (null for anything that is not a row id). */
interface RowSource {
  findPlainRow(id: unknown): Promise<Record<string, unknown> | null>;
}

function rowSource(service: Service | undefined): RowSource | null {
  const candidate = service as Partial<RowSource> | undefined;
  return typeof candidate?.findPlainRow === "function" ? (candidate as RowSource) : null;
}

const matches = (row: Record<string, unknown>, values: Record<string, unknown> | undefined) =>
  values !== undefined && Object.entries(values).every(([column, value]) => row[column] === value);

/** May `principal` see `row` under `rule`? (`only` aside: the row exists for the action.) */
export function maySee(rule: Ownership, row: Record<string, unknown>, principal: Principal | null | undefined): boolean {
  if (rule.staff !== undefined && hasRole(principal, rule.staff)) return true;
  if (rule.owner !== undefined && principal && row[rule.owner] === principal.id) return true;
  return matches(row, rule.anyone);
}

/** The conditions of the rows `principal` may list under `rule`. */
export function scopeOf(rule: Ownership, principal: Principal | null | undefined): Record<string, unknown> {
  if (rule.staff !== undefined && hasRole(principal, rule.staff)) return { ...rule.only };
  // No principal: an owner column matches nobody's rows (no user id is null).
  if (rule.owner !== undefined) return { ...rule.only, [rule.owner]: principal?.id ?? null };
  return { ...rule.only, ...rule.anyone };
}

function check(rule: Ownership, action: ActionSchema): void {
  const where = `${action.name}: ownership`;
  if (rule.owner === undefined && rule.anyone === undefined && rule.staff === undefined) {
    throw new Error(`${where} names nobody who may see a row (owner, staff or anyone).`);
  }
  // A list's scope is one set of equalities: rows of the caller, or rows of anyone, not either.
  if (rule.list && rule.owner !== undefined && rule.anyone !== undefined) {
    throw new Error(`${where}: a list is scoped by its owner or by \`anyone\`, not by both.`);
  }
}

export const OwnershipMiddleware: Middleware = {
  name: "Ownership",
  localAction(next, action) {
    const rule = action.ownership;
    if (!rule) return next;
    check(rule, action);
    if (rule.list) {
      return function scoped(this: Service, ctx: Context<unknown, { user?: Principal | null }>) {
        ctx.locals.scope = scopeOf(rule, ctx.meta.user);
        return next.call(this, ctx);
      };
    }
    const rows = rowSource(action.service);
    if (!rows) throw new Error(`${action.name}: ownership loads rows with the service's findPlainRow (mix in the db mixin).`);
    return async function owned(this: Service, ctx: Context<{ id?: unknown }, { user?: Principal | null }>) {
      const id = ctx.params.id;
      const row = await rows.findPlainRow(id);
      if (!row || (rule.only && !matches(row, rule.only)) || !maySee(rule, row, ctx.meta.user)) throw notFound(rule.entity, id);
      ctx.locals.entity = row;
      return next.call(this, ctx);
    };
  },
};

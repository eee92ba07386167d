/**
 * Who may call an action. Every action that the gateway can reach declares `access`
 * next to its handler; anything without a declaration is denied (default deny).
 *
 *   "public"         anyone, authenticated or not
 *   "authenticated"  any signed-in principal
 *   "user" | "admin" | "superuser"   that role or a higher one (user < admin < superuser)
 *   "internal"       other services only: never reachable over HTTP
 */
import { Errors } from "moleculer";

export const ROLES = ["user", "admin", "superuser"] as const;
export type Role = (typeof ROLES)[number];
export type Access = "public" | "authenticated" | "internal" | Role;

/** The principal the gateway puts in `ctx.meta.user` once a request is authenticated. */
export interface Principal {
  id: string;
  role: Role;
  email?: string;
  /** A person's display name (absent for API clients): with the e-mail, what an order's notifications need. */
  name?: string;
  /** The sign-in session a bearer token belongs to (absent for Basic Auth and API clients). */
  sid?: string;
  /** An API client (OAuth 2.0 client credentials) rather than a person. */
  client?: boolean;
}

export function roleRank(role: Role): number {
  return ROLES.indexOf(role);
}

export function hasRole(principal: Principal | null | undefined, minimum: Role): boolean {
  return !!principal && ROLES.includes(principal.role) && roleRank(principal.role) >= roleRank(minimum);
}

export class AccessError extends Errors.MoleculerClientError {}

/**
 * Decide whether `principal` may call an action that declares `access`.
 * `viaGateway` is true for HTTP requests: there, `internal` and undeclared actions are refused.
 * Throws 401 (not signed in) or 403 (signed in, not allowed); returns nothing when allowed.
 */
export function assertAccess(access: Access | undefined, principal: Principal | null | undefined, viaGateway: boolean): void {
  if (access === undefined || access === "internal") {
    if (viaGateway) throw new AccessError("This operation is not available.", 403, "FORBIDDEN");
    return;
  }
  if (access === "public") return;
  if (!principal) {
    throw new AccessError("Authentication is required.", 401, "UNAUTHORIZED");
  }
  if (access === "authenticated") return;
  if (!hasRole(principal, access)) {
    throw new AccessError(`This operation requires the ${access} role.`, 403, "FORBIDDEN");
  }
}

/** How to reach a user, as users.contact answers it. */
export interface Contact {
  id: string;
  email: string;
  name: string;
}

/** User `userId`'s contact from a principal that is that user and carries it (null: ask users.contact). */
export function contactOf(principal: Principal | null | undefined, userId: string): Contact | null {
  if (!principal || principal.client || principal.id !== userId) return null;
  const { email, name } = principal;
  return typeof email === "string" && typeof name === "string" ? { id: principal.id, email, name } : null;
}

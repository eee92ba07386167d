/**
 * Who may change which user, and how. Plain rules, no I/O: the users service loads the
 * facts (actor, target, how many active superusers exist) and asks.
 *
 *  - Nobody changes their own role, deactivates or deletes themselves through admin routes.
 *  - Admins manage plain users only; superusers manage everyone.
 *  - Only a superuser grants or revokes admin / superuser.
 *  - The last active superuser cannot be demoted, deactivated or deleted.
 */
import { createRequire } from "node:module";
import { ROLES, roleRank, type Principal, type Role } from "../lib/access.ts";
import { refusedCharacter } from "../lib/characters.ts";

export interface UserFacts {
  id: string;
  role: Role;
  active: boolean;
}

export interface Refusal {
  status: 403 | 409;
  type: "FORBIDDEN" | "LAST_SUPERUSER" | "SELF_CHANGE";
  message: string;
}

export interface AdminChange {
  role?: Role;
  active?: boolean;
  delete?: boolean;
}

export function isRole(value: unknown): value is Role {
  return typeof value === "string" && (ROLES as readonly string[]).includes(value);
}

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

// validator.js is CommonJS (module.exports = isEmail); its typings describe an ES default export.
const isEmail = createRequire(import.meta.url)("validator/lib/isEmail.js") as typeof import("validator/lib/isEmail.js").default;

const EMAIL_RULE = {
  allow_display_name: false,
  allow_utf8_local_part: false,
  require_tld: true,
  allow_ip_domain: false,
  ignore_max_length: false,
};

/** RFC 5321: an address is at most 254 octets in a path (the 256 of a forward-path less "<>"). */
export const EMAIL_MAX_LENGTH = 254;

/**
 * Is `email` an address a new account may have? RFC 5321/5322 as validator.js checks it
 * (`isEmail`): an ASCII local part (dot-atom or quoted, at most 64 characters), a
 * fully-qualified domain name with a top-level domain (labels of letters, digits and
 * hyphens, IDN allowed, at most 63 characters each), no display name, no IP-literal host;
 * and no control or bidirectional-override character anywhere (lib/characters.ts).
 * `ceo@shop.example\u0000.attacker.test` fails; `ann+shop@mail.example.com` passes.
 */
export function isEmailAddress(email: string): boolean {
  return email.length <= EMAIL_MAX_LENGTH && refusedCharacter(email) === null && isEmail(email, EMAIL_RULE);
}

/** Why `actor` may not make `change` to `target`, or null when allowed. */
export function adminChangeRefusal(actor: Principal, target: UserFacts, change: AdminChange, activeSuperusers: number): Refusal | null {
  const self = actor.id === target.id;
  if (self && change.role !== undefined && change.role !== target.role) {
    return { status: 403, type: "SELF_CHANGE", message: "You cannot change your own role." };
  }
  if (self && (change.delete || change.active === false)) {
    return { status: 403, type: "SELF_CHANGE", message: "You cannot deactivate or delete your own account here." };
  }
  if (actor.role !== "superuser" && roleRank(target.role) >= roleRank("admin") && !self) {
    return { status: 403, type: "FORBIDDEN", message: "Only a superuser can manage admins and superusers." };
  }
  const roleChanges = change.role !== undefined && change.role !== target.role;
  if (roleChanges && actor.role !== "superuser" && (change.role !== "user" || target.role !== "user")) {
    return { status: 403, type: "FORBIDDEN", message: "Only a superuser can grant or revoke the admin and superuser roles." };
  }
  const losesSuperuser =
    target.role === "superuser" &&
    target.active &&
    (change.delete || change.active === false || (roleChanges && change.role !== "superuser"));
  if (losesSuperuser && activeSuperusers <= 1) {
    return { status: 409, type: "LAST_SUPERUSER", message: "This is the last active superuser: promote another one first." };
  }
  return null;
}

/**
 * API clients (OAuth 2.0 client credentials) act for the person who created them, so never
 * with more than that person may do right now:
 *
 *  - A person creates a client with a role up to their own; only a superuser grants a client
 *    the admin (or superuser) role. Clients never create or manage clients.
 *  - A client's effective role is the lower of its own and its creator's current role, and
 *    none at all (the client is refused) while the creator is deactivated or gone. The users
 *    service checks this at every token issue and on every request.
 *  - Clients are listed and deleted by their creator or a superuser.
 */
export function clientRoleRefusal(creator: Principal, role: Role): Refusal | null {
  if (creator.client) return { status: 403, type: "FORBIDDEN", message: "API clients cannot create API clients." };
  if (roleRank(role) > roleRank(creator.role)) {
    return { status: 403, type: "FORBIDDEN", message: `A client cannot have a higher role (${role}) than its creator (${creator.role}).` };
  }
  if (roleRank(role) >= roleRank("admin") && creator.role !== "superuser") {
    return { status: 403, type: "FORBIDDEN", message: `Only a superuser can create a client with the ${role} role.` };
  }
  return null;
}

/** The role a client acts with now: at most its creator's current one; null when the creator is inactive or gone. */
export function effectiveClientRole(clientRole: Role, creator: { role: Role; active: boolean } | null): Role | null {
  if (!creator?.active || !isRole(clientRole) || !isRole(creator.role)) return null;
  return roleRank(clientRole) <= roleRank(creator.role) ? clientRole : creator.role;
}

/** Whether `actor` may see and delete a client created by `createdBy`: its creator or a superuser, never a client. */
export function mayManageClient(actor: Principal, createdBy: string): boolean {
  if (actor.client) return false;
  return actor.role === "superuser" || actor.id === createdBy;
}

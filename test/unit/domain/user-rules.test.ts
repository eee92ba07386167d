import {
  adminChangeRefusal,
  clientRoleRefusal,
  effectiveClientRole,
  mayManageClient,
  normalizeEmail,
  isRole,
  type UserFacts,
} from "../../../domain/user-rules.ts";
import type { Principal } from "../../../lib/access.ts";

const su: Principal = { id: "su", role: "superuser" };
const admin: Principal = { id: "ad", role: "admin" };
const facts = (id: string, role: UserFacts["role"], active = true): UserFacts => ({ id, role, active });

describe("adminChangeRefusal", () => {
  test("admins manage plain users, but cannot grant roles", () => {
    expect(adminChangeRefusal(admin, facts("u", "user"), { active: false }, 1)).toBeNull();
    expect(adminChangeRefusal(admin, facts("u", "user"), { delete: true }, 1)).toBeNull();
    expect(adminChangeRefusal(admin, facts("u", "user"), { role: "user" }, 1)).toBeNull();
    expect(adminChangeRefusal(admin, facts("u", "user"), { role: "admin" }, 1)).toMatchObject({ status: 403, type: "FORBIDDEN" });
    expect(adminChangeRefusal(admin, facts("u", "user"), { role: "superuser" }, 1)).toMatchObject({ status: 403 });
  });

  test("admins cannot touch other admins or superusers", () => {
    expect(adminChangeRefusal(admin, facts("a2", "admin"), { active: false }, 1)).toMatchObject({ status: 403 });
    expect(adminChangeRefusal(admin, facts("s", "superuser"), { role: "user" }, 2)).toMatchObject({ status: 403 });
  });

  test("nobody changes their own role or removes themselves", () => {
    expect(adminChangeRefusal(admin, facts("ad", "admin"), { role: "superuser" }, 1)).toMatchObject({ type: "SELF_CHANGE" });
    expect(adminChangeRefusal(su, facts("su", "superuser"), { role: "user" }, 5)).toMatchObject({ type: "SELF_CHANGE" });
    expect(adminChangeRefusal(su, facts("su", "superuser"), { delete: true }, 5)).toMatchObject({ type: "SELF_CHANGE" });
    expect(adminChangeRefusal(su, facts("su", "superuser"), { role: "superuser" }, 1)).toBeNull();
  });

  test("superusers grant and revoke roles, but never remove the last superuser", () => {
    expect(adminChangeRefusal(su, facts("u", "user"), { role: "admin" }, 1)).toBeNull();
    expect(adminChangeRefusal(su, facts("a", "admin"), { role: "user" }, 1)).toBeNull();
    expect(adminChangeRefusal(su, facts("s2", "superuser"), { role: "admin" }, 2)).toBeNull();
    expect(adminChangeRefusal(su, facts("s2", "superuser"), { role: "admin" }, 1)).toMatchObject({ status: 409, type: "LAST_SUPERUSER" });
    expect(adminChangeRefusal(su, facts("s2", "superuser"), { active: false }, 1)).toMatchObject({ status: 409 });
    expect(adminChangeRefusal(su, facts("s2", "superuser"), { delete: true }, 1)).toMatchObject({ status: 409 });
    // an inactive superuser is not the one keeping the shop manageable
    expect(adminChangeRefusal(su, facts("s2", "superuser", false), { delete: true }, 1)).toBeNull();
  });
});

test("clientRoleRefusal: never above the creator; only a superuser grants admin; clients create no clients", () => {
  expect(clientRoleRefusal(admin, "user")).toBeNull();
  expect(clientRoleRefusal(admin, "admin")).toMatchObject({ status: 403, message: expect.stringMatching(/Only a superuser/) });
  expect(clientRoleRefusal(admin, "superuser")).toMatchObject({ status: 403 });
  expect(clientRoleRefusal(su, "admin")).toBeNull();
  expect(clientRoleRefusal(su, "superuser")).toBeNull();
  expect(clientRoleRefusal({ id: "c", role: "superuser", client: true }, "user")).toMatchObject({ status: 403 });
  expect(clientRoleRefusal({ id: "u", role: "user" }, "user")).toBeNull();
});

test("effectiveClientRole: the lower of the client's and its creator's current role; none without an active creator", () => {
  expect(effectiveClientRole("admin", { role: "superuser", active: true })).toBe("admin");
  expect(effectiveClientRole("admin", { role: "admin", active: true })).toBe("admin");
  expect(effectiveClientRole("admin", { role: "user", active: true })).toBe("user");
  expect(effectiveClientRole("superuser", { role: "admin", active: true })).toBe("admin");
  expect(effectiveClientRole("user", { role: "superuser", active: true })).toBe("user");
  expect(effectiveClientRole("admin", { role: "superuser", active: false })).toBeNull();
  expect(effectiveClientRole("admin", null)).toBeNull();
  expect(effectiveClientRole("admin", { role: "king" as never, active: true })).toBeNull();
});

test("mayManageClient: its creator or a superuser, never a client", () => {
  expect(mayManageClient(admin, "ad")).toBe(true);
  expect(mayManageClient(admin, "su")).toBe(false);
  expect(mayManageClient(su, "ad")).toBe(true);
  expect(mayManageClient({ id: "ad", role: "superuser", client: true }, "ad")).toBe(false);
});

test("normalizeEmail and isRole", () => {
  expect(normalizeEmail("  Ada.Lovelace@Example.COM ")).toBe("ada.lovelace@example.com");
  expect(isRole("admin")).toBe(true);
  expect(isRole("root")).toBe(false);
});

import { assertAccess, contactOf, hasRole, AccessError, type Principal } from "../../../lib/access.ts";

const user: Principal = { id: "u", role: "user" };
const admin: Principal = { id: "a", role: "admin" };
const superuser: Principal = { id: "s", role: "superuser" };

function status(fn: () => void): number | "allowed" {
  try {
    fn();
    return "allowed";
  } catch (err) {
    expect(err).toBeInstanceOf(AccessError);
    return (err as AccessError).code;
  }
}

describe("assertAccess over HTTP (the gateway's authorize hook)", () => {
  test.each([
    ["public", null, "allowed"],
    ["public", user, "allowed"],
    ["authenticated", null, 401],
    ["authenticated", user, "allowed"],
    ["user", null, 401],
    ["user", user, "allowed"],
    ["admin", user, 403],
    ["admin", admin, "allowed"],
    ["admin", superuser, "allowed"],
    ["superuser", admin, 403],
    ["superuser", superuser, "allowed"],
    ["internal", superuser, 403],
    [undefined, superuser, 403],
  ] as const)("access %s, principal %j → %s", (access, principal, expected) => {
    expect(status(() => assertAccess(access, principal, true))).toBe(expected);
  });
});

test("between services, internal actions are allowed and roles still apply", () => {
  expect(status(() => assertAccess("internal", null, false))).toBe("allowed");
  expect(status(() => assertAccess(undefined, null, false))).toBe("allowed");
  expect(status(() => assertAccess("admin", user, false))).toBe(403);
});

test("roles are ordered user < admin < superuser; unknown roles have no rights", () => {
  expect(hasRole(superuser, "admin")).toBe(true);
  expect(hasRole(user, "admin")).toBe(false);
  expect(hasRole(null, "user")).toBe(false);
  expect(hasRole({ id: "x", role: "root" as never }, "user")).toBe(false);
});

test("a principal is its own user's contact only with e-mail and name, never for someone else or an API client", () => {
  const ada: Principal = { id: "u1", role: "user", email: "ada@example.com", name: "Ada", sid: "s1" };
  expect(contactOf(ada, "u1")).toEqual({ id: "u1", email: "ada@example.com", name: "Ada" });
  expect(contactOf(ada, "u2")).toBeNull();
  expect(contactOf({ id: "u1", role: "user", email: "ada@example.com" }, "u1")).toBeNull(); // a principal from before names
  expect(contactOf({ ...ada, client: true }, "u1")).toBeNull();
  expect(contactOf(null, "u1")).toBeNull();
});

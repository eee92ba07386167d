import { assertAccess, hasRole, AccessError, type Principal } from "../../../lib/access.ts";

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

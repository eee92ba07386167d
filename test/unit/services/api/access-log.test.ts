import { accessLogLevel } from "../../../../services/api/access-log.ts";

test("access lines are built only when the node logs at debug or trace", () => {
  expect(accessLogLevel("trace")).toBe("debug");
  expect(accessLogLevel("debug")).toBe("debug");
  for (const level of ["info", "warn", "error", "fatal"] as const) expect(accessLogLevel(level)).toBeNull();
});

/**
 * Unit tests mirror the source tree: the tests of `lib/saga.ts` are `test/unit/lib/saga.test.ts`,
 * and a long one may be split by topic (`test/unit/lib/config.sign-in.test.ts`). A unit test
 * whose source file moved or went away is named here.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const UNIT = path.join(ROOT, "test/unit");

test("every unit test is named after the source file it tests", () => {
  const tests = fs.readdirSync(UNIT, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".test.ts"));
  expect(tests.length).toBeGreaterThan(40);
  const sourceOf = (test: string) => {
    const name = test.slice(0, -".test.ts".length);
    // types/moleculer.test.ts tests the declarations of types/moleculer.d.ts.
    return [`${name}.ts`, `${name}.d.ts`, `${name.replace(/\.[\w-]+$/, "")}.ts`].find((source) => fs.existsSync(path.join(ROOT, source)));
  };
  expect(tests.filter((test) => !sourceOf(test)).sort()).toEqual([]);
});

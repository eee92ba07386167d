import os from "node:os";
import { hash as argon2Hash } from "@node-rs/argon2";
import {
  PASSWORD_MAX,
  PASSWORD_MIN,
  hashPassword,
  hashingSlots,
  needsRehash,
  passwordProblem,
  verifyAgainstDummy,
  verifyPassword,
} from "../../../../integrations/authentication/passwords.ts";

const GOOD = "correct horse battery";

describe("passwordProblem", () => {
  test.each([
    ["correct horse battery", {}, null],
    ["", {}, /empty/],
    ["            ", {}, /only spaces/],
    ["short1!", {}, /at least 10/],
    ["x1y2z3w4v", {}, /at least 10/],
    ["x1y2z3w4v5", {}, null],
    ["Password123", {}, /too common/],
    ["QWERTYUIOP", {}, /too common/],
    ["1234567890", {}, /too common/],
    ["zzzzzzzzzzzz", {}, /repeat/],
    ["my-AdaLovelace-pass", { email: "adalovelace@example.com" }, /name or e-mail/],
    ["adalovelace", { email: "AdaLovelace@example.com" }, /name or e-mail/],
    ["bob-is-great-2024", { email: "bob@example.com" }, null], // local part < 4 chars: not checked
    ["example.com-rocks", { email: "ada.l@example.com" }, null], // the domain is not the local part
    ["i-love-ada lovelace", { name: "Ada Lovelace" }, /name or e-mail/],
    ["lovelace-rocks-99", { name: "Ada Lovelace" }, /name or e-mail/],
    ["al-is-the-best-1", { name: "Al" }, null],
  ] as const)("%j with %j → %s", (password, context, expected) => {
    const problem = passwordProblem(password, context);
    if (expected === null) expect(problem).toBeNull();
    else expect(problem).toMatch(expected);
  });

  test("length limits are inclusive and counted in characters, not UTF-16 units", () => {
    const chars = "abcdefghijklmnopqrstuvwxyz0123456789";
    const ofLength = (n: number) => Array.from({ length: n }, (_, i) => chars[i % chars.length]).join("");
    expect(PASSWORD_MIN).toBe(10);
    expect(PASSWORD_MAX).toBe(128);
    expect(passwordProblem(ofLength(PASSWORD_MAX))).toBeNull();
    expect(passwordProblem(ofLength(PASSWORD_MAX + 1))).toMatch(/at most 128/);
    const nineEmoji = "🙂🙃😀😁😂🤣😃😄😅"; // 18 UTF-16 units
    expect(passwordProblem(nineEmoji)).toMatch(/at least 10/);
    expect(passwordProblem(nineEmoji + "😆")).toBeNull();
  });
});

describe("hashing (argon2id)", () => {
  let stored: string;
  beforeAll(async () => {
    stored = await hashPassword(GOOD);
  });

  test("a PHC string with the OWASP parameters and a random salt", async () => {
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    const again = await hashPassword(GOOD);
    expect(again).not.toBe(stored);
    expect(await verifyPassword(again, GOOD)).toBe(true);
  });

  test("verifies the right password only", async () => {
    expect(await verifyPassword(stored, GOOD)).toBe(true);
    expect(await verifyPassword(stored, "correct horse batterY")).toBe(false);
    expect(await verifyPassword(stored, "")).toBe(false);
    expect(await verifyPassword(stored, "x".repeat(10_000))).toBe(false);
  });

  test("never throws for a malformed hash", async () => {
    for (const bad of ["", "garbage", "$argon2id$v=19$m=19456,t=2,p=1$bad", stored.slice(0, -5), null as unknown as string]) {
      await expect(verifyPassword(bad, GOOD)).resolves.toBe(false);
    }
  });

  test("passwords are NFKC-normalised: é typed precomposed or decomposed is the same password", async () => {
    const composed = "caf\u00e9 au lait, s'il vous plaît";
    const decomposed = composed.normalize("NFD");
    expect(decomposed).not.toBe(composed);
    expect(await verifyPassword(await hashPassword(composed), decomposed)).toBe(true);
  });

  test("needsRehash: current parameters no, weaker ones (or unreadable) yes, stronger ones no", async () => {
    const weak = (opts: object) => argon2Hash(GOOD, { memoryCost: 19_456, timeCost: 2, parallelism: 1, ...opts });
    expect(needsRehash(stored)).toBe(false);
    expect(needsRehash(await weak({ memoryCost: 4096 }))).toBe(true);
    expect(needsRehash(await weak({ timeCost: 1 }))).toBe(true);
    expect(needsRehash(await weak({ algorithm: 1 }))).toBe(true); // argon2i
    expect(needsRehash(await weak({ outputLen: 16 }))).toBe(true);
    expect(needsRehash(await weak({ timeCost: 3 }))).toBe(false);
    expect(needsRehash("garbage")).toBe(true);
  });

  test("verifyAgainstDummy resolves false and costs about as much as a real verification", async () => {
    await expect(verifyAgainstDummy(GOOD)).resolves.toBe(false); // computes the dummy hash once
    const fastest = async (fn: () => Promise<unknown>) => {
      let best = Infinity;
      for (let i = 0; i < 3; i++) {
        const start = performance.now();
        await fn();
        best = Math.min(best, performance.now() - start);
      }
      return best;
    };
    const dummy = await fastest(() => verifyAgainstDummy("wrong password!"));
    const real = await fastest(() => verifyPassword(stored, "wrong password!"));
    expect(dummy).toBeGreaterThan(real / 4);
    expect(dummy).toBeLessThan(real * 4);
  });

  test("at most one hash per core runs at once; the rest queue", async () => {
    expect(hashingSlots.max).toBe(os.availableParallelism());
    const calls = Array.from({ length: hashingSlots.max + 2 }, () => verifyPassword(stored, "wrong password!"));
    expect(hashingSlots.active).toBe(hashingSlots.max);
    expect(hashingSlots.waiting).toBe(2);
    expect(await Promise.all(calls)).toEqual(calls.map(() => false));
    expect(hashingSlots.active).toBe(0);
    expect(hashingSlots.waiting).toBe(0);
  });
});

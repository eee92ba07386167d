import { randomBytes } from "node:crypto";
import {
  createOneTimeCode,
  hashOneTimeCode,
  normalizeOneTimeCode,
  oneTimeCodeMatches,
} from "../../../../integrations/authentication/one-time-codes.ts";

const KEY = randomBytes(32);

test("codes are six digits, leading zeros kept, spread over the whole range", () => {
  const codes = Array.from({ length: 2000 }, createOneTimeCode);
  for (const code of codes) expect(code).toMatch(/^\d{6}$/);
  // 2000 draws from a million: collisions are rare, and every first digit shows up.
  expect(new Set(codes).size).toBeGreaterThan(1990);
  expect(new Set(codes.map((c) => c[0])).size).toBe(10);
});

test("stored as an HMAC bound to the challenge: not the code, not movable to another challenge, not without the key", () => {
  const hash = hashOneTimeCode("042137", "challenge-1", KEY);
  expect(hash).toMatch(/^[0-9a-f]{64}$/);
  expect(hash).not.toContain("042137");
  expect(oneTimeCodeMatches("042137", "challenge-1", hash, KEY)).toBe(true);
  expect(oneTimeCodeMatches("042 137", "challenge-1", hash, KEY)).toBe(true);
  expect(oneTimeCodeMatches("042137", "challenge-2", hash, KEY)).toBe(false);
  expect(oneTimeCodeMatches("042137", "challenge-1", hash, randomBytes(32))).toBe(false);
  expect(oneTimeCodeMatches("042138", "challenge-1", hash, KEY)).toBe(false);
  expect(() => hashOneTimeCode("042137", "c", Buffer.alloc(8))).toThrow(RangeError);
});

test.each(["", "12345", "1234567", "12a456", "42137", "+12345", "١٢٣٤٥٦", "12345\u0000"])("%j is not a code", (input) => {
  expect(normalizeOneTimeCode(input)).toBeNull();
  expect(oneTimeCodeMatches(input, "c", hashOneTimeCode("123456", "c", KEY), KEY)).toBe(false);
});

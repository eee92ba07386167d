import { randomBytes } from "node:crypto";
import { issueDeviceToken, readDeviceToken, DEVICE_TOKEN_MAX_LENGTH } from "../../../../integrations/authentication/device-tokens.ts";

const key = randomBytes(32);
const USER = "6f1c2b9e-1d2a-4c3b-9a8e-7f6d5c4b3a21";

test("a token reads back to its account, a nonce of its own and its expiry", () => {
  const now = Date.now();
  const a = issueDeviceToken(USER, key, 3600, now);
  const b = issueDeviceToken(USER, key, 3600, now);
  expect(a.length).toBeLessThanOrEqual(DEVICE_TOKEN_MAX_LENGTH);
  const claims = readDeviceToken(a, key, now);
  expect(claims).toEqual({ userId: USER, nonce: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/), expiresAt: Math.floor(now / 1000) + 3600 });
  expect(readDeviceToken(b, key, now)!.nonce).not.toBe(claims!.nonce);
});

test("expired, tampered, re-addressed, foreign-key and malformed tokens read as null", () => {
  const now = Date.now();
  const token = issueDeviceToken(USER, key, 60, now);
  expect(readDeviceToken(token, key, now + 61_000)).toBeNull();
  expect(readDeviceToken(token, randomBytes(32), now)).toBeNull();
  const parts = token.split(".");
  expect(readDeviceToken([parts[0], parts[1], "another-user", parts[3], parts[4]].join("."), key, now)).toBeNull();
  expect(readDeviceToken([parts[0], parts[1], parts[2], "99999999999", parts[4]].join("."), key, now)).toBeNull();
  for (const junk of [undefined, 42, "", "d1", "d1.a.b.c.d", `${token}.x`, "x".repeat(300), token.replace(/^d1/, "d2")]) {
    expect(readDeviceToken(junk, key, now)).toBeNull();
  }
});

test("issuing checks its inputs", () => {
  expect(() => issueDeviceToken("a.b", key, 60)).toThrow(TypeError);
  expect(() => issueDeviceToken(USER, key, 0)).toThrow(RangeError);
  expect(() => issueDeviceToken(USER, randomBytes(16), 60)).toThrow(RangeError);
});

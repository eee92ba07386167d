import {
  RECOVERY_ALPHABET,
  createRecoveryCodes,
  hashRecoveryCode,
  hashToken,
  normalizeRecoveryCode,
  randomToken,
  safeEqual,
} from "../../../../integrations/authentication/tokens.ts";

const pepper = Buffer.from(Array.from({ length: 32 }, (_, i) => i));

test("randomToken: base64url of 32 random bytes by default", () => {
  const token = randomToken();
  expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  expect(Buffer.from(token, "base64url")).toHaveLength(32);
  expect(randomToken(16)).toMatch(/^[A-Za-z0-9_-]{22}$/);
  expect(new Set(Array.from({ length: 100 }, () => randomToken())).size).toBe(100);
});

test("randomToken refuses fewer than 16 bytes", () => {
  expect(() => randomToken(8)).toThrow(RangeError);
  expect(() => randomToken(1.5)).toThrow(RangeError);
});

test("hashToken is SHA-256 hex", () => {
  expect(hashToken("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  expect(hashToken("abd")).not.toBe(hashToken("abc"));
});

test.each([
  ["abc", "abc", true],
  ["", "", true],
  ["abc", "abd", false],
  ["abc", "abcd", false],
  ["abc", "", false],
  ["é", "e\u0301", false],
])("safeEqual(%j, %j) → %s", (a, b, expected) => {
  expect(safeEqual(a, b)).toBe(expected);
});

describe("recovery codes", () => {
  const FORMAT = /^[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}$/;

  test("ten distinct codes in three groups of four from a 32-symbol alphabet (60 bits)", () => {
    expect(RECOVERY_ALPHABET).toHaveLength(32);
    expect(new Set(RECOVERY_ALPHABET).size).toBe(32);
    expect(RECOVERY_ALPHABET).not.toMatch(/[ilou]/);
    const codes = createRecoveryCodes();
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) expect(code).toMatch(FORMAT);
    expect(createRecoveryCodes(3)).toHaveLength(3);
  });

  test("every symbol is used (no bias towards part of the alphabet)", () => {
    const seen = new Set(createRecoveryCodes(100).join("").replace(/-/g, ""));
    expect([...seen].sort().join("")).toBe(RECOVERY_ALPHABET);
  });

  test("normalising: case, spaces and dashes do not matter; o → 0 and i, l → 1", () => {
    expect(normalizeRecoveryCode("K7MQ-9XZ2-4FPD")).toBe("k7mq9xz24fpd");
    expect(normalizeRecoveryCode(" k7mq 9xz2\t4fpd ")).toBe("k7mq9xz24fpd");
    expect(normalizeRecoveryCode("k7mq–9xz2—4fpd")).toBe("k7mq9xz24fpd"); // en and em dashes
    expect(normalizeRecoveryCode("0O1-iIlL")).toBe("0011111");
    expect(normalizeRecoveryCode(normalizeRecoveryCode("K7MQ-9XZ2-4FPD"))).toBe("k7mq9xz24fpd");
  });

  test("hashRecoveryCode: HMAC-SHA256 hex of the normalised code under the pepper", () => {
    const expected = "da432160ed20bed3845efac05eb000e09932b5263d42be3f2421f33b943f3ba6"; // computed with Python's hmac
    expect(hashRecoveryCode("k7mq-9xz2-4fpd", pepper)).toBe(expected);
    expect(hashRecoveryCode(" K7MQ 9XZ2 4FPD", pepper)).toBe(expected);
    expect(hashRecoveryCode("k7mq-9xz2-4fpe", pepper)).not.toBe(expected);
    expect(hashRecoveryCode("k7mq-9xz2-4fpd", Buffer.alloc(32, 1))).not.toBe(expected);
    expect(() => hashRecoveryCode("k7mq-9xz2-4fpd", Buffer.alloc(8))).toThrow(RangeError);
  });
});

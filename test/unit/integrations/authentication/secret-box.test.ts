import { randomBytes } from "node:crypto";
import { deriveKey, openSecret, sealSecret } from "../../../../integrations/authentication/secret-box.ts";

const key = deriveKey("an example key material of 32+ bytes!");
const SEALED = /^v1\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]*)$/;

test("seal and open round-trip, in the versioned v1.<iv>.<tag>.<ciphertext> form", () => {
  for (const plaintext of ["GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "", "ünïcødé ✓ 🙂"]) {
    const sealed = sealSecret(plaintext, key);
    const [, iv, tag, ciphertext] = sealed.match(SEALED) ?? [];
    expect(Buffer.from(iv!, "base64url")).toHaveLength(12);
    expect(Buffer.from(tag!, "base64url")).toHaveLength(16);
    expect(Buffer.from(ciphertext!, "base64url")).toHaveLength(Buffer.byteLength(plaintext)); // GCM: no padding
    if (plaintext) expect(Buffer.from(ciphertext!, "base64url").equals(Buffer.from(plaintext))).toBe(false);
    expect(openSecret(sealed, key)).toBe(plaintext);
  }
});

test("every seal uses a fresh IV", () => {
  const a = sealSecret("same", key);
  const b = sealSecret("same", key);
  expect(a.split(".")[1]).not.toBe(b.split(".")[1]);
  expect(a).not.toBe(b);
});

test("a wrong key cannot open it", () => {
  const sealed = sealSecret("secret", key);
  expect(() => openSecret(sealed, randomBytes(32))).toThrow(/wrong key or tampered/);
});

test.each([0, 1, 2, 3])("changing part %i (version, iv, tag, ciphertext) is detected", (part) => {
  const parts = sealSecret("a secret worth protecting", key).split(".");
  const bytes = Buffer.from(parts[part]!, part === 0 ? "utf8" : "base64url");
  bytes[0]! ^= 1;
  parts[part] = part === 0 ? bytes.toString("utf8") : bytes.toString("base64url");
  expect(() => openSecret(parts.join("."), key)).toThrow();
});

test.each([
  ["empty", ""],
  ["three parts", "v1.a.b"],
  ["five parts", "v1.a.b.c.d"],
  ["short iv", `v1.${Buffer.alloc(8).toString("base64url")}.${Buffer.alloc(16).toString("base64url")}.AAAA`],
  ["truncated tag", `v1.${Buffer.alloc(12).toString("base64url")}.${Buffer.alloc(4).toString("base64url")}.AAAA`],
])("malformed (%s) is refused", (_what, sealed) => {
  expect(() => openSecret(sealed, key)).toThrow();
});

test("keys must be 32 bytes", () => {
  expect(() => sealSecret("x", randomBytes(16))).toThrow(RangeError);
  expect(() => openSecret(sealSecret("x", key), randomBytes(31))).toThrow(RangeError);
});

describe("deriveKey (HKDF-SHA256)", () => {
  test("matches a known answer computed independently, so stored secrets stay readable", () => {
    // Python: HKDF(sha256, ikm, salt=b"shop integrations/authentication hkdf salt", info=b"shop totp secrets v1", L=32)
    expect(key.toString("hex")).toBe("b4a903030bec9325ac1164ec32148ab213ff939202080997aac52d3b855cbba9");
  });

  test("deterministic, 32 bytes, different for other material or another purpose", () => {
    const material = "x".repeat(40);
    expect(deriveKey(material)).toHaveLength(32);
    expect(deriveKey(material).equals(deriveKey(material))).toBe(true);
    expect(deriveKey(material).equals(deriveKey("y".repeat(40)))).toBe(false);
    expect(deriveKey(material).equals(deriveKey(material, "shop recovery codes v1"))).toBe(false);
  });

  test("refuses material shorter than 32 bytes", () => {
    expect(() => deriveKey("too short")).toThrow(RangeError);
  });
});

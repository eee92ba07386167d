import { createHmac } from "node:crypto";
import speakeasy from "speakeasy";
import { TOTP, createTotpSecret, qrCodeDataUrl, totpCode, totpStep, verifyTotp } from "../../../../integrations/authentication/totp.ts";
import { packagesLoadedBy } from "../../../support/imports.ts";

const RFC_SECRET = "12345678901234567890"; // RFC 4226 Appendix D / RFC 6238 Appendix B (SHA-1), ASCII
const RFC_BASE32 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

/** RFC 4226 §5.3 written out here, as a reference speakeasy (the engine) is checked against. */
function referenceHotp(secret: Buffer, counter: number, digits = 6): string {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac("sha1", secret).update(message).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 10 ** digits).padStart(digits, "0");
}
const hotp = (counter: number, digits = 6) => speakeasy.hotp({ secret: RFC_SECRET, counter, digits });

test("RFC 4226 Appendix D: HOTP values for counters 0..9", () => {
  const expected = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"];
  expect(expected.map((_, counter) => hotp(counter))).toEqual(expected);
  expect(expected.map((_, counter) => referenceHotp(Buffer.from(RFC_SECRET), counter))).toEqual(expected);
});

test.each([
  [59, "94287082"],
  [1111111109, "07081804"],
  [1111111111, "14050471"],
  [1234567890, "89005924"],
  [2000000000, "69279037"],
  [20000000000, "65353130"],
])("RFC 6238 Appendix B (SHA-1): T = %d → %s", (seconds, expected) => {
  expect(totpStep(seconds * 1000)).toBe(Math.floor(seconds / 30));
  expect(hotp(totpStep(seconds * 1000), 8)).toBe(expected);
  // The 6-digit code the app shows is the same value, truncated.
  expect(totpCode(RFC_BASE32, seconds * 1000)).toBe(expected.slice(2));
});

test("our secrets' codes agree with an independent HOTP at many times", () => {
  const { base32 } = createTotpSecret("ada@example.com", "Shop");
  const key = base32ToBytes(base32);
  for (const seconds of [0, 59, 1_700_000_000, 1_700_000_029, 1_700_000_030, 2_000_000_000]) {
    expect(totpCode(base32, seconds * 1000)).toBe(referenceHotp(key, Math.floor(seconds / 30)));
  }
});

/** RFC 4648 base32 decoding, for the check above. */
function base32ToBytes(text: string): Buffer {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  const bits = [...text.replace(/=+$/, "")].map((c) => alphabet.indexOf(c).toString(2).padStart(5, "0")).join("");
  return Buffer.from(bits.match(/.{8}/g)!.map((b) => parseInt(b, 2)));
}

describe("verifyTotp", () => {
  const t = 1111111111 * 1000;
  const step = totpStep(t); // 37037037
  const codeAt = (s: number) => hotp(s);

  test("accepts the current step and one step either side, and says which", () => {
    expect(verifyTotp(RFC_BASE32, codeAt(step), null, t)).toEqual({ ok: true, step });
    expect(verifyTotp(RFC_BASE32, codeAt(step - 1), null, t)).toEqual({ ok: true, step: step - 1 });
    expect(verifyTotp(RFC_BASE32, codeAt(step + 1), null, t)).toEqual({ ok: true, step: step + 1 });
  });

  test("refuses two steps away", () => {
    expect(verifyTotp(RFC_BASE32, codeAt(step - 2), null, t)).toEqual({ ok: false, reason: "mismatch" });
    expect(verifyTotp(RFC_BASE32, codeAt(step + 2), null, t)).toEqual({ ok: false, reason: "mismatch" });
  });

  test("the window follows the clock: 30 s later the oldest code drops out", () => {
    const code = codeAt(step - 1);
    expect(verifyTotp(RFC_BASE32, code, null, t).ok).toBe(true);
    expect(verifyTotp(RFC_BASE32, code, null, (step + 1) * 30_000 - 1).ok).toBe(true);
    expect(verifyTotp(RFC_BASE32, code, null, (step + 1) * 30_000)).toEqual({ ok: false, reason: "mismatch" });
  });

  test("a code is accepted once: a step at or before the last used one is a replay", () => {
    const first = verifyTotp(RFC_BASE32, codeAt(step), null, t);
    expect(first).toEqual({ ok: true, step });
    expect(verifyTotp(RFC_BASE32, codeAt(step), step, t)).toEqual({ ok: false, reason: "replayed" });
    expect(verifyTotp(RFC_BASE32, codeAt(step - 1), step, t)).toEqual({ ok: false, reason: "replayed" });
    expect(verifyTotp(RFC_BASE32, codeAt(step + 1), step, t)).toEqual({ ok: true, step: step + 1 });
    expect(verifyTotp(RFC_BASE32, codeAt(step), step - 1, t)).toEqual({ ok: true, step });
  });

  test("a wrong code is a mismatch even after a replay-blocked step", () => {
    const wrong = codeAt(step) === "000000" ? "000001" : "000000";
    expect(verifyTotp(RFC_BASE32, wrong, step, t)).toEqual({ ok: false, reason: "mismatch" });
  });

  test("a used step does not hide a later step of the window that shows the same digits", () => {
    // With the RFC secret, steps 37079356 and 37079357 both give 186519 (found by search).
    expect([codeAt(37079356), codeAt(37079357)]).toEqual(["186519", "186519"]);
    const at = 37079357 * 30_000;
    expect(verifyTotp(RFC_BASE32, "186519", null, at)).toEqual({ ok: true, step: 37079356 });
    expect(verifyTotp(RFC_BASE32, "186519", 37079356, at)).toEqual({ ok: true, step: 37079357 });
    expect(verifyTotp(RFC_BASE32, "186519", 37079357, at)).toEqual({ ok: false, reason: "replayed" });
  });

  const malformed = ["", "12345", "1234567", "12a456", "١٢٣٤٥٦", "12345\u0000", "+12345", "-12345", "1e5000", "0x1234", "12345."];
  test.each(malformed)("format: %j", (code) => {
    expect(verifyTotp(RFC_BASE32, code, null, t)).toEqual({ ok: false, reason: "format" });
  });

  test('spaces inside the code are ignored ("123 456" as apps display it)', () => {
    const code = codeAt(step);
    expect(verifyTotp(RFC_BASE32, ` ${code.slice(0, 3)} ${code.slice(3)} `, null, t)).toEqual({ ok: true, step });
  });
});

describe("enrolment", () => {
  test("a fresh 32-byte secret and a Key URI with the issuer as label prefix and parameter", () => {
    const { base32, otpauthUrl } = createTotpSecret("ada@example.com", "My Shop");
    expect(base32).toMatch(/^[A-Z2-7]{52}$/);
    expect(base32ToBytes(base32)).toHaveLength(TOTP.secretLength);
    expect(otpauthUrl).toBe(
      `otpauth://totp/My%20Shop:ada%40example.com?secret=${base32}&issuer=My%20Shop&algorithm=SHA1&digits=6&period=30`,
    );
    const url = new URL(otpauthUrl);
    expect(decodeURIComponent(url.pathname)).toBe("/My Shop:ada@example.com");
    expect(url.searchParams.get("issuer")).toBe("My Shop");
    expect(createTotpSecret("ada@example.com", "My Shop").base32).not.toBe(base32);
  });

  test("issuer and account name may not contain a colon or be empty", () => {
    expect(() => createTotpSecret("a:b", "Shop")).toThrow(/without ":"/);
    expect(() => createTotpSecret("ada@example.com", "Sh:op")).toThrow(/without ":"/);
    expect(() => createTotpSecret("ada@example.com", " ")).toThrow(TypeError);
  });

  test("the QR code is a square PNG data URL of about 256 px", async () => {
    const { otpauthUrl } = createTotpSecret("ada@example.com", "Shop");
    const dataUrl = await qrCodeDataUrl(otpauthUrl);
    expect(dataUrl.startsWith("data:image/png;base64,")).toBe(true);
    const png = Buffer.from(dataUrl.slice("data:image/png;base64,".length), "base64");
    expect(png.subarray(0, 8).toString("hex")).toBe("89504e470d0a1a0a");
    expect(png.subarray(12, 16).toString("ascii")).toBe("IHDR");
    const [width, height] = [png.readUInt32BE(16), png.readUInt32BE(20)];
    expect(width).toBe(height);
    expect(width).toBeGreaterThan(200); // qrcode scales whole modules into the 256 px asked for
    expect(width).toBeLessThanOrEqual(256);
  });
});

test("speakeasy and qrcode are loaded on first use, not when the module is imported", () => {
  const heavy = (packages: string[]) => packages.filter((p) => ["speakeasy", "qrcode", "pngjs"].includes(p));
  expect(heavy(packagesLoadedBy(`await import(url("integrations/authentication/index.ts"));`))).toEqual([]);
  const used = packagesLoadedBy(`
    const totp = await import(url("integrations/authentication/totp.ts"));
    const { otpauthUrl } = totp.createTotpSecret("a@example.com", "Shop");
    await totp.qrCodeDataUrl(otpauthUrl);`);
  expect(heavy(used)).toEqual(["pngjs", "qrcode", "speakeasy"]);
});

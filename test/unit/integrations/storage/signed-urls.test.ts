import { signToken, verifyToken, SignedUrlError, type UrlClaims } from "../../../../integrations/storage/signed-urls.ts";

const SECRET = "0123456789abcdef0123456789abcdef";
const NOW = Date.parse("2026-11-28T12:00:00Z");
const claims: UrlClaims = { k: "files/abc", m: "PUT", e: NOW / 1000 + 300, t: "image/png", n: 1234 };

function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof SignedUrlError) return err.reason;
    throw err;
  }
  return "accepted";
}

test("a token carries its claims and verifies for its method until it expires", () => {
  const token = signToken(claims, SECRET);
  expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
  expect(verifyToken(token, "PUT", SECRET, NOW)).toEqual(claims);
  expect(reason(() => verifyToken(token, "GET", SECRET, NOW))).toBe("method");
  expect(reason(() => verifyToken(token, "PUT", SECRET, NOW + 300_000))).toBe("expired");
  expect(verifyToken(token, "PUT", SECRET, NOW + 299_999)).toEqual(claims);
});

test("any change to the claims or the signature, or another key, is refused", () => {
  const token = signToken(claims, SECRET);
  const [body, sig] = token.split(".") as [string, string];
  const forged = Buffer.from(JSON.stringify({ ...claims, n: 1 })).toString("base64url");
  expect(reason(() => verifyToken(`${forged}.${sig}`, "PUT", SECRET, NOW))).toBe("signature");
  const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === "A" ? "B" : "A") + s.slice(i + 1);
  expect(reason(() => verifyToken(`${body}.${flip(sig, 0)}`, "PUT", SECRET, NOW))).toBe("signature");
  // The last character has spare bits: a non-canonical spelling of the same MAC is refused too.
  expect(reason(() => verifyToken(`${body}.${flip(sig, sig.length - 1)}`, "PUT", SECRET, NOW))).toBe("signature");
  expect(reason(() => verifyToken(token, "PUT", `${SECRET}x`, NOW))).toBe("signature");
});

test("malformed tokens", () => {
  for (const bad of ["", "abc", "a.b.c", ".sig", "body.", "x".repeat(5000), `${"x".repeat(4100)}.sig`]) {
    expect(reason(() => verifyToken(bad, "PUT", SECRET, NOW))).toBe("malformed");
  }
  // Well signed, but not claims.
  const signedJunk = signToken({ hello: "world" } as unknown as UrlClaims, SECRET);
  expect(reason(() => verifyToken(signedJunk, "PUT", SECRET, NOW))).toBe("malformed");
});

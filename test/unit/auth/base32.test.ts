import { randomBytes } from "node:crypto";
import { base32Decode, base32Encode } from "../../../integrations/authentication/base32.ts";

test.each([
  ["", ""],
  ["f", "MY======"],
  ["fo", "MZXQ===="],
  ["foo", "MZXW6==="],
  ["foob", "MZXW6YQ="],
  ["fooba", "MZXW6YTB"],
  ["foobar", "MZXW6YTBOI======"],
])("RFC 4648 §10: %j ⇄ %j", (text, encoded) => {
  expect(base32Encode(Buffer.from(text), { padding: true })).toBe(encoded);
  expect(base32Encode(Buffer.from(text))).toBe(encoded.replace(/=/g, ""));
  expect(base32Decode(encoded).toString()).toBe(text);
  expect(base32Decode(encoded.replace(/=/g, "")).toString()).toBe(text);
});

test("decoding ignores case and spaces (secrets typed by hand)", () => {
  expect(base32Decode("mzxw 6ytb oi").toString()).toBe("foobar");
});

test("random bytes survive a round trip", () => {
  for (let n = 0; n < 40; n++) {
    const bytes = randomBytes(n);
    expect(base32Decode(base32Encode(bytes)).equals(bytes)).toBe(true);
  }
});

test.each(["MZXW1", "MZXW8YTB", "MZXW6YTB!", "M", "MZX"])("%j is refused", (bad) => {
  expect(() => base32Decode(bad)).toThrow(SyntaxError);
});

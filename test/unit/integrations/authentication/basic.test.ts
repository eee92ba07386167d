import { parseBasic } from "../../../../integrations/authentication/basic.ts";

const encode = (text: string) => Buffer.from(text, "utf8").toString("base64");

test.each([
  ["ada@example.com:s3cret-pass", { username: "ada@example.com", password: "s3cret-pass" }],
  ["Aladdin:open sesame", { username: "Aladdin", password: "open sesame" }],
  ["user:pa:ss:word", { username: "user", password: "pa:ss:word" }],
  ["user:", { username: "user", password: "" }],
  ["tëst:pässwörd✓", { username: "tëst", password: "pässwörd✓" }],
])("%j", (decoded, expected) => {
  expect(parseBasic(encode(decoded))).toEqual(expected);
});

test("the RFC 7617 example", () => {
  expect(parseBasic("QWxhZGRpbjpvcGVuIHNlc2FtZQ==")).toEqual({ username: "Aladdin", password: "open sesame" });
  expect(parseBasic(" QWxhZGRpbjpvcGVuIHNlc2FtZQ== ")).toEqual({ username: "Aladdin", password: "open sesame" });
});

test.each([
  ["empty", ""],
  ["not base64", "not base64!"],
  ["base64url alphabet", encode("user:pass?>>").replace(/\+/g, "-").replace(/\//g, "_")],
  ["bad padding", "QWxhZGRpbjpvcGVuIHNlc2FtZQ="],
  ["padding in the middle", "QQ==QQ=="],
  ["impossible length", "QWxhZ"],
  ["no colon", encode("useronly")],
  ["empty username", encode(":password")],
  ["invalid UTF-8", Buffer.from([0x75, 0x3a, 0xff, 0xfe]).toString("base64")],
  ["control character", encode("user:pass\nword")],
  ["over 1024 characters", encode(`user:${"p".repeat(1020)}`)],
])("null for %s", (_what, credentials) => {
  expect(parseBasic(credentials)).toBeNull();
});

test("exactly 1024 decoded characters (multi-byte ones counted once) are accepted", () => {
  const password = "é".repeat(1019);
  expect(parseBasic(encode(`user:${password}`))).toEqual({ username: "user", password });
});

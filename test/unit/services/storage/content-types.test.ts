import { decideType, normalizeType, sniff, SNIFF_BYTES } from "../../../../services/storage/content-types.ts";

const ALLOWED = ["image/jpeg", "image/png", "image/webp", "image/gif", "application/pdf", "text/plain"];
const HEADS: Record<string, Buffer> = {
  "image/png": Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]),
  "image/jpeg": Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1]),
  "image/gif": Buffer.from("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00", "latin1"),
  "image/webp": Buffer.from("RIFF\x24\x00\x00\x00WEBPVP8 ", "latin1"),
  "application/pdf": Buffer.from("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "latin1"),
};

test("normalizeType: lower case, no parameters, nothing malformed", () => {
  expect(normalizeType("Image/PNG; charset=binary")).toBe("image/png");
  expect(normalizeType(" text/plain ")).toBe("text/plain");
  expect(normalizeType("image/svg+xml")).toBe("image/svg+xml");
  for (const bad of ["", "png", "image/", "/png", "image/png/x", "ima ge/png", 42, undefined, null]) expect(normalizeType(bad)).toBeNull();
});

test("sniff recognises each signature and nothing else", () => {
  for (const [type, head] of Object.entries(HEADS)) expect(sniff(head)).toBe(type);
  expect(sniff(Buffer.from("hello world, plain text"))).toBeNull();
  expect(sniff(Buffer.from("RIFF\x24\x00\x00\x00WAVEfmt ", "latin1"))).toBeNull(); // RIFF, but not WebP
  expect(sniff(Buffer.alloc(0))).toBeNull();
  expect(SNIFF_BYTES).toBeGreaterThanOrEqual(12);
});

describe("decideType", () => {
  test.each(Object.entries(HEADS))("%s declared and present: accepted", (type, head) => {
    expect(decideType(type, head, ALLOWED)).toEqual({ ok: true, contentType: type });
    expect(decideType(`${type.toUpperCase()}; q=1`, head, ALLOWED)).toEqual({ ok: true, contentType: type });
  });

  test("a declared type that is not allowed is refused, whatever the bytes", () => {
    expect(decideType("text/html", Buffer.from("<html>"), ALLOWED)).toMatchObject({
      ok: false,
      reason: "not-allowed",
      declared: "text/html",
    });
    expect(decideType("image/svg+xml", Buffer.from("<svg"), ALLOWED)).toMatchObject({ ok: false, reason: "not-allowed" });
  });

  test("content that is not what it claims is refused", () => {
    expect(decideType("image/png", HEADS["image/jpeg"]!, ALLOWED)).toMatchObject({
      ok: false,
      reason: "mismatch",
      declared: "image/png",
      detected: "image/jpeg",
    });
    expect(decideType("image/png", Buffer.from("#!/bin/sh\nrm -rf /"), ALLOWED)).toMatchObject({
      ok: false,
      reason: "mismatch",
      detected: null,
    });
    expect(decideType("application/pdf", Buffer.alloc(0), ALLOWED)).toMatchObject({ ok: false, reason: "mismatch" }); // an empty "PDF"
    expect(decideType("text/plain", HEADS["image/png"]!, ALLOWED)).toMatchObject({ ok: false, reason: "mismatch", detected: "image/png" });
    expect(decideType("text/plain", Buffer.from("MZ\x90\x00\x03\x00\x00\x00", "latin1"), ALLOWED)).toMatchObject({
      ok: false,
      reason: "mismatch",
    }); // binary
  });

  test("text: plain, empty and UTF-16 with a BOM are fine", () => {
    expect(decideType("text/plain; charset=utf-8", Buffer.from("plain words"), ALLOWED)).toEqual({ ok: true, contentType: "text/plain" });
    expect(decideType("text/plain", Buffer.alloc(0), ALLOWED)).toEqual({ ok: true, contentType: "text/plain" });
    expect(decideType("text/plain", Buffer.from("\ufeffhi", "utf16le"), ALLOWED)).toEqual({ ok: true, contentType: "text/plain" });
  });

  test("nothing useful declared: the signature decides, or the upload is refused", () => {
    for (const generic of [undefined, "", "application/octet-stream", "binary/octet-stream"]) {
      expect(decideType(generic, HEADS["application/pdf"]!, ALLOWED)).toEqual({ ok: true, contentType: "application/pdf" });
      expect(decideType(generic, Buffer.from("just text"), ALLOWED)).toMatchObject({ ok: false, reason: "unknown" });
    }
    // A recognised format that is not allowed stays refused.
    expect(decideType("application/octet-stream", HEADS["image/gif"]!, ["image/png"])).toMatchObject({ ok: false, reason: "not-allowed" });
  });

  test("messages name what is accepted", () => {
    const refused = decideType("text/html", Buffer.from("x"), ["image/png", "text/plain"]);
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.message).toBe("Files of type text/html are not accepted; upload one of: image/png, text/plain.");
  });
});

import { sanitizeFilename } from "../../../../services/storage/filenames.ts";

describe("sanitizeFilename", () => {
  test.each([
    ["photo.png", "photo.png"],
    ["../../etc/passwd", "passwd"],
    ["C:\\Users\\ada\\Desktop\\cv.pdf", "cv.pdf"],
    ["a\u0000b\u001fc\u007f.txt", "abc.txt"],
    ["invoice\u202Efdp.exe", "invoicefdp.exe"], // right-to-left override: no disguised extensions
    ["zero\u200Bwidth.png", "zerowidth.png"],
    ['what<>:"|?*.png', "what_______.png"],
    ["  many   spaces \t here .png  ", "many spaces here .png"],
    [".htaccess", "htaccess"],
    ["trailing dots...", "trailing dots"],
    ["CON", "_CON"],
    ["lpt1.txt", "_lpt1.txt"],
    ["Cafe\u0301.png", "Café.png"], // NFC
    ["", "file"],
    ["...", "file"],
    ["/", "file"],
  ])("%j → %j", (input, expected) => {
    expect(sanitizeFilename(input)).toBe(expected);
  });

  test("not a string → the fallback", () => {
    expect(sanitizeFilename(undefined)).toBe("file");
    expect(sanitizeFilename(42, "upload")).toBe("upload");
  });

  test("at most 255 UTF-8 bytes, extension kept, no character cut in half", () => {
    const long = `${"é".repeat(300)}.jpeg`;
    const out = sanitizeFilename(long);
    expect(Buffer.byteLength(out)).toBeLessThanOrEqual(255);
    expect(out.endsWith(".jpeg")).toBe(true);
    expect(out).toBe(`${"é".repeat(125)}.jpeg`);
    expect(sanitizeFilename("x".repeat(400))).toBe("x".repeat(255));
  });
});

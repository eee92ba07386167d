import { sanitizeFilename } from "../../services/storage/filenames.ts";
import { contentDisposition } from "../../integrations/storage/content-disposition.ts";

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

test("contentDisposition: ASCII fallback plus the exact UTF-8 name", () => {
  expect(contentDisposition("report.pdf")).toBe(`attachment; filename="report.pdf"; filename*=UTF-8''report.pdf`);
  expect(contentDisposition("Résumé 2026.pdf")).toBe(`attachment; filename="Resume 2026.pdf"; filename*=UTF-8''R%C3%A9sum%C3%A9%202026.pdf`);
  expect(contentDisposition('say "hi"\\.txt', "inline")).toBe(`inline; filename="say _hi__.txt"; filename*=UTF-8''say%20%22hi%22%5C.txt`);
  expect(contentDisposition("日本.png")).toBe(`attachment; filename="__.png"; filename*=UTF-8''%E6%97%A5%E6%9C%AC.png`);
  expect(contentDisposition("it's (1).png")).toContain("filename*=UTF-8''it%27s%20%281%29.png");
});

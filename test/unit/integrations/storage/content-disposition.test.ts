import { contentDisposition } from "../../../../integrations/storage/content-disposition.ts";

test("contentDisposition: ASCII fallback plus the exact UTF-8 name", () => {
  expect(contentDisposition("report.pdf")).toBe(`attachment; filename="report.pdf"; filename*=UTF-8''report.pdf`);
  expect(contentDisposition("Résumé 2026.pdf")).toBe(
    `attachment; filename="Resume 2026.pdf"; filename*=UTF-8''R%C3%A9sum%C3%A9%202026.pdf`,
  );
  expect(contentDisposition('say "hi"\\.txt', "inline")).toBe(`inline; filename="say _hi__.txt"; filename*=UTF-8''say%20%22hi%22%5C.txt`);
  expect(contentDisposition("日本.png")).toBe(`attachment; filename="__.png"; filename*=UTF-8''%E6%97%A5%E6%9C%AC.png`);
  expect(contentDisposition("it's (1).png")).toContain("filename*=UTF-8''it%27s%20%281%29.png");
});

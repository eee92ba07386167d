import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { longLines, maxLength, tooLong } from "../../../scripts/check-lines.ts";

const ROOT = path.resolve(import.meta.dirname, "../../..");

describe("check-lines", () => {
  test("flags the lines over the limit with their 1-based numbers, a line at the limit passes", () => {
    const text = ["a".repeat(10), "b".repeat(11), "", "c".repeat(12)].join("\n");
    expect(longLines(text, 10)).toEqual([
      { line: 2, length: 11 },
      { line: 4, length: 12 },
    ]);
    expect(longLines("a".repeat(10), 10)).toEqual([]);
  });

  test("counts characters, not UTF-16 units or bytes, and not the CR of a CRLF ending", () => {
    expect(longLines("→".repeat(10), 10)).toEqual([]);
    expect(longLines("😀".repeat(10), 10)).toEqual([]); // 20 UTF-16 units, 40 bytes
    expect(longLines("😀".repeat(11), 10)).toEqual([{ line: 1, length: 11 }]);
    expect(longLines(`${"a".repeat(10)}\r\n${"b".repeat(11)}\r\n`, 10)).toEqual([{ line: 2, length: 11 }]);
  });

  test("reads the limit from .prettierrc.json: 140 here, the same as .editorconfig's max_line_length", () => {
    expect(maxLength(ROOT)).toBe(140);
    expect(fs.readFileSync(path.join(ROOT, ".editorconfig"), "utf8")).toMatch(/^max_line_length = 140$/m);
  });

  test("walks .ts, .js and .mjs files, skipping node_modules, data and dot folders", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "check-lines-"));
    try {
      const long = "x".repeat(21);
      const write = (file: string, text: string) => {
        fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
        fs.writeFileSync(path.join(root, file), text);
      };
      fs.writeFileSync(path.join(root, ".prettierrc.json"), JSON.stringify({ printWidth: 20 }));
      write("a.ts", `ok\n${long}\n`);
      write("lib/b.mjs", long);
      write("types/c.d.ts", `// ${long}`);
      write("jest.config.js", `ok\nok\n${long}`);
      write("README.md", long);
      write("node_modules/pkg/index.js", long);
      write("data/cache.ts", long);
      write(".git/hooks/x.js", long);
      write("short.ts", "x".repeat(20));
      expect(tooLong(root).sort()).toEqual([
        "a.ts:2: 21 characters (max 20)",
        "jest.config.js:3: 21 characters (max 20)",
        "lib/b.mjs:1: 21 characters (max 20)",
        "types/c.d.ts:1: 24 characters (max 20)",
      ]);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

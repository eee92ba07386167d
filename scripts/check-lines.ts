/**
 * npm run lint's line-length check: no line of a .ts, .js or .mjs file over Prettier's printWidth
 * (.prettierrc.json, 140; .editorconfig says the same). Prettier wraps code but leaves long string
 * literals, template literals and comments as they are: split those with `+` or `[…].join("")`,
 * or end a line inside a template literal with a backslash (a line continuation adds nothing to
 * the string), and rewrap comments. Length is counted in characters (code points), not bytes.
 *
 * Prints each long line as file:line and exits 1 when there is one.
 */
import fs from "node:fs";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "..");
const SKIP = new Set(["node_modules", "data", ".git", "coverage"]);
const EXTENSIONS = [".ts", ".js", ".mjs"];

/** Prettier's printWidth, the one limit for the formatter and this check. */
export function maxLength(root = ROOT): number {
  const rc = JSON.parse(fs.readFileSync(path.join(root, ".prettierrc.json"), "utf8")) as { printWidth?: number };
  return rc.printWidth ?? 80; // Prettier's own default
}

/** The 1-based numbers and lengths of the lines of `text` longer than `max` characters. */
export function longLines(text: string, max: number): { line: number; length: number }[] {
  const found: { line: number; length: number }[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    // Code points: a line of 140 "é" or "→" is 140 characters long, as an editor shows it.
    const length = line.length > max ? [...line].length : line.length;
    if (length > max) found.push({ line: i + 1, length });
  });
  return found;
}

function* sources(dir: string): Generator<string> {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(entry.name) || entry.name.startsWith(".")) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(full);
    else if (EXTENSIONS.some((ext) => entry.name.endsWith(ext))) yield full;
  }
}

/** Every line over the limit in the project's source files, as "file:line: N characters (max M)". */
export function tooLong(root = ROOT, max = maxLength(root)): string[] {
  const problems: string[] = [];
  for (const full of sources(root)) {
    const file = path.relative(root, full);
    for (const { line, length } of longLines(fs.readFileSync(full, "utf8"), max)) {
      problems.push(`${file}:${line}: ${length} characters (max ${max})`);
    }
  }
  return problems;
}

if (import.meta.main) {
  const max = maxLength();
  const problems = tooLong(ROOT, max);
  for (const p of problems) console.error(p);
  if (problems.length) {
    console.error(`${problems.length} line(s) over ${max} characters: split the string or rewrap the comment (scripts/check-lines.ts).`);
    process.exit(1);
  }
}

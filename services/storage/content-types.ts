/**
 * Which uploads are accepted: the declared type must be in UPLOAD_ALLOWED_TYPES, and for the
 * formats with a signature (images, PDF) the first bytes must agree with it. A PNG declared
 * as text/plain, a script declared as image/png or an empty "PDF" are refused.
 * Pure functions: unit-tested in test/unit/services/storage/content-types.test.ts.
 */

/** Bytes needed to recognise every signature below. */
export const SNIFF_BYTES = 16;

/** Declared types that say nothing: the content decides. */
const GENERIC = new Set(["", "application/octet-stream", "binary/octet-stream", "application/unknown"]);

const ascii = (buf: Buffer, start: number, text: string) => buf.subarray(start, start + text.length).toString("latin1") === text;
const bytes = (buf: Buffer, start: number, values: number[]) => values.every((v, i) => buf[start + i] === v);

/** Formats recognised by their first bytes. */
const SIGNATURES: Record<string, (b: Buffer) => boolean> = {
  "image/jpeg": (b) => bytes(b, 0, [0xff, 0xd8, 0xff]),
  "image/png": (b) => bytes(b, 0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  "image/gif": (b) => ascii(b, 0, "GIF87a") || ascii(b, 0, "GIF89a"),
  "image/webp": (b) => ascii(b, 0, "RIFF") && ascii(b, 8, "WEBP"),
  "application/pdf": (b) => ascii(b, 0, "%PDF-"),
};

/** `Image/PNG; charset=x` → `image/png`; null when there is nothing usable. */
export function normalizeType(value: unknown): string | null {
  if (typeof value !== "string") return null;
  const type = value.split(";")[0]!.trim().toLowerCase();
  return /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/.test(type) ? type : null;
}

/** The format the first bytes announce, when it is one we know. */
export function sniff(head: Buffer): string | null {
  for (const [type, test] of Object.entries(SIGNATURES)) if (test(head)) return type;
  return null;
}

export type TypeDecision =
  | { ok: true; contentType: string }
  | { ok: false; reason: "not-allowed" | "mismatch" | "unknown"; message: string; declared: string | null; detected: string | null };

/**
 * The content type to store for a file whose client declared `declared` and whose first
 * bytes are `head` (at least SNIFF_BYTES of them, or the whole file when it is shorter).
 */
export function decideType(declared: unknown, head: Buffer, allowed: readonly string[]): TypeDecision {
  const claimed = normalizeType(declared);
  const detected = sniff(head);
  const refuse = (reason: "not-allowed" | "mismatch" | "unknown", message: string): TypeDecision => ({
    ok: false,
    reason,
    message,
    declared: claimed,
    detected,
  });
  const list = allowed.join(", ");

  // Nothing useful declared (browsers say application/octet-stream for unknown extensions):
  // a recognised signature decides.
  const type = claimed === null || GENERIC.has(claimed) ? detected : claimed;
  if (type === null) return refuse("unknown", `The file type could not be determined; upload one of: ${list}.`);
  if (!allowed.includes(type)) return refuse("not-allowed", `Files of type ${type} are not accepted; upload one of: ${list}.`);

  if (type in SIGNATURES) {
    if (detected !== type) return refuse("mismatch", `The content is not a valid ${type} file.`);
  } else if (detected !== null) {
    // e.g. a PNG declared as text/plain: it is what its bytes say it is.
    return refuse("mismatch", `The content is a ${detected} file, not ${type}.`);
  } else if (type.startsWith("text/") && head.includes(0) && !hasUtf16Bom(head)) {
    return refuse("mismatch", `The content is binary, not ${type}.`);
  }
  return { ok: true, contentType: type };
}

function hasUtf16Bom(head: Buffer): boolean {
  return bytes(head, 0, [0xff, 0xfe]) || bytes(head, 0, [0xfe, 0xff]);
}

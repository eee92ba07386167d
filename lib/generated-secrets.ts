/**
 * The embedded default's own secrets. Outside production, a secret that is not configured
 * (JWT_SECRET, SECRETS_KEY) is generated on first start: 48 random bytes, written to a file of
 * its own in `dir` (default ./data/secrets, mode 0700) with mode 0600, and read back on every
 * later start, so tokens, sealed TOTP secrets and signed URLs survive a restart. No value is
 * shipped with the code, so no two installations share one (the way a framework's generated
 * secret key works). Nodes that share the working directory (`npm run cluster`, the tests)
 * share the files; nodes on different machines must be given the variables.
 *
 * Creation is atomic: the secret is written to a temporary file and hard-linked into place,
 * which fails if another process got there first; then everyone reads the one that won.
 */
import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";

/** What a generated secret is made of: 48 bytes from the CSPRNG, as base64url (64 characters). */
export const GENERATED_SECRET_BYTES = 48;

export class GeneratedSecretError extends Error {
  override name = "GeneratedSecretError";
}

/** `name`'s file under `dir`: `JWT_SECRET` → `jwt-secret`. */
export function secretFile(dir: string, name: string): string {
  return path.join(dir, name.toLowerCase().replace(/_/g, "-"));
}

function readSecret(file: string): string | null {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new GeneratedSecretError(`${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? "error"})`);
  }
  const secret = text.trim();
  if (Buffer.byteLength(secret) < 32) throw new GeneratedSecretError(`${file} holds fewer than 32 bytes: delete it to generate a new one`);
  return secret;
}

/** The secret kept in `dir` for `name`, generated now if there is none yet. */
export function generatedSecret(dir: string, name: string): string {
  const file = secretFile(dir, name);
  const existing = readSecret(file);
  if (existing !== null) return existing;
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(tmp, `${randomBytes(GENERATED_SECRET_BYTES).toString("base64url")}\n`, { mode: 0o600, flag: "wx" });
    try {
      fs.linkSync(tmp, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      // Another process generated it first: theirs is the one.
    }
  } catch (err) {
    throw new GeneratedSecretError(`${file} cannot be written (${(err as NodeJS.ErrnoException).code ?? "error"})`);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  const secret = readSecret(file);
  if (secret === null) throw new GeneratedSecretError(`${file} vanished while it was being generated`);
  return secret;
}

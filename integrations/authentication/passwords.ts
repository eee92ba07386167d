/**
 * Passwords: the acceptance rules for a new password (NIST SP 800-63B §3.1.1.2: a length
 * floor, no composition rules, a blocklist of common and context-specific values) and
 * storage with argon2id at the OWASP Password Storage Cheat Sheet parameters
 * (m = 19456 KiB, t = 2, p = 1). Passwords are NFKC-normalised before they are counted,
 * compared or hashed (SP 800-63B), so "é" typed two ways is the same password.
 *
 * Hashing is memory-hard on purpose; a semaphore bounds how many run at once.
 */
import os from "node:os";
import { hash, verify, parseOptions, type Algorithm, type Options } from "@node-rs/argon2";
import { Semaphore } from "./semaphore.ts";

export const PASSWORD_MIN = 10;
export const PASSWORD_MAX = 128;

/** The current hashing policy; `needsRehash` flags hashes made with anything weaker. */
export const ARGON2_PARAMS = {
  algorithm: 2 as Algorithm, // Argon2id (a const enum in the typings, so spelled as its value)
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
  outputLen: 32,
} as const satisfies Options;

const ARGON2_VERSION_0x13 = 1;

/** Inputs longer than this are refused by `verifyPassword` without hashing (no valid password is). */
const VERIFY_INPUT_MAX = 4 * PASSWORD_MAX;

/** At most one hash per core at a time; the rest wait their turn. */
export const hashingSlots = new Semaphore(os.availableParallelism());

/** The most common passwords of at least PASSWORD_MIN characters (shorter ones fail on length). */
const COMMON_PASSWORDS = new Set([
  "1234567890",
  "0987654321",
  "12345678910",
  "1234567891",
  "123456789a",
  "a123456789",
  "1234567890a",
  "0123456789",
  "1111111111",
  "0000000000",
  "1122334455",
  "1234512345",
  "123123123123",
  "987654321a",
  "password123",
  "password1234",
  "password12",
  "passw0rd123",
  "passwordpassword",
  "password!!",
  "qwertyuiop",
  "qwertyuiop123",
  "qwerty12345",
  "qwerty123456",
  "qwertyqwerty",
  "1q2w3e4r5t",
  "1q2w3e4r5t6y",
  "1qaz2wsx3edc",
  "zaq12wsxcde3",
  "qazwsxedc123",
  "123qweasdzxc",
  "asdfghjkl1",
  "asdfghjkl;",
  "zxcvbnm123",
  "abcdefghij",
  "abcd123456",
  "abc1234567",
  "iloveyou123",
  "iloveyou12",
  "letmein123",
  "welcome123",
  "welcome1234",
  "changeme123",
  "administrator",
  "admin12345",
  "football123",
  "baseball123",
  "princess123",
  "sunshine123",
  "superman123",
  "starwars123",
  "trustno1234",
  "monkey1234",
  "dragon1234",
  "master1234",
  "shadow1234",
  "michael123",
  "computer123",
  "internet123",
  "whatever123",
]);

function normalize(password: string): string {
  return password.normalize("NFKC");
}

function lengthOf(text: string): number {
  return [...text].length; // code points, not UTF-16 units
}

/** A message saying why `password` is not acceptable as a new password, or null. */
export function passwordProblem(password: string, context: { email?: string; name?: string } = {}): string | null {
  if (typeof password !== "string" || password.trim() === "") return "The password must not be empty or only spaces.";
  const pw = normalize(password);
  const length = lengthOf(pw);
  if (length < PASSWORD_MIN) return `The password must be at least ${PASSWORD_MIN} characters long.`;
  if (length > PASSWORD_MAX) return `The password must be at most ${PASSWORD_MAX} characters long.`;
  const lower = pw.toLowerCase();
  if (COMMON_PASSWORDS.has(lower)) return "This password is too common; choose another one.";
  if (new Set(lower).size === 1) return "The password must not repeat a single character.";

  const personal: string[] = [];
  if (context.email) {
    const at = context.email.lastIndexOf("@");
    personal.push(at >= 0 ? context.email.slice(0, at) : context.email);
  }
  if (context.name) personal.push(context.name, ...context.name.split(/\s+/));
  for (const part of personal) {
    const p = normalize(part).trim().toLowerCase();
    if (lengthOf(p) >= 4 && lower.includes(p)) return "The password must not contain your name or e-mail address.";
  }
  return null;
}

/** An argon2id PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`) with a random salt. */
export function hashPassword(password: string): Promise<string> {
  return hashingSlots.run(() => hash(normalize(password), ARGON2_PARAMS));
}

/** Whether `password` matches the PHC string `stored`. False, never an exception, for a malformed one. */
export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  if (typeof stored !== "string" || typeof password !== "string" || password.length > VERIFY_INPUT_MAX) return false;
  try {
    return await hashingSlots.run(() => verify(stored, normalize(password)));
  } catch {
    return false;
  }
}

let dummyHash: Promise<string> | undefined;

/**
 * One verification against a fixed dummy hash, so that "no such account" costs as much
 * time as "wrong password" and does not reveal which e-mails are registered (OWASP
 * Authentication Cheat Sheet). The dummy hash is made on first use, so that first call
 * costs one hash more; call it once at startup to take that out of the request path.
 */
export async function verifyAgainstDummy(password: string): Promise<false> {
  dummyHash ??= hashPassword("dummy password: no account will ever match this");
  try {
    await verifyPassword(await dummyHash, typeof password === "string" ? password : "");
  } catch {
    dummyHash = undefined; // hashing failed; try again next time, but still answer "no"
  }
  return false;
}

/** True when `stored` was made with weaker parameters than ARGON2_PARAMS (or cannot be read). */
export function needsRehash(stored: string): boolean {
  try {
    const p = parseOptions(stored);
    return (
      p.algorithm !== ARGON2_PARAMS.algorithm ||
      p.version !== ARGON2_VERSION_0x13 ||
      p.memoryCost < ARGON2_PARAMS.memoryCost ||
      p.timeCost < ARGON2_PARAMS.timeCost ||
      p.parallelism < ARGON2_PARAMS.parallelism ||
      p.outputLen < ARGON2_PARAMS.outputLen ||
      p.saltLen < 16
    );
  } catch {
    return true;
  }
}

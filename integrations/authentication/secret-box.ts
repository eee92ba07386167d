/**
 * Secrets at rest (TOTP seeds): AES-256-GCM authenticated encryption (NIST SP 800-38D)
 * with a random 96-bit IV per message and a 128-bit tag, in a versioned text form
 * `v1.<iv>.<tag>.<ciphertext>` (base64url) that fits a text column. The key comes from
 * configuration through HKDF-SHA256 (RFC 5869), bound to its purpose.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";

const VERSION = "v1";
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
/** The version is authenticated too, so a sealed value cannot be relabelled. */
const AAD = Buffer.from(`shop secret-box ${VERSION}`);

export const SECRET_BOX_PURPOSE = "shop totp secrets v1";
const HKDF_SALT = "shop integrations/authentication hkdf salt";

function checkKey(key: Buffer): void {
  if (!Buffer.isBuffer(key) || key.length !== KEY_BYTES) throw new RangeError(`The key must be ${KEY_BYTES} bytes`);
}

export function sealSecret(plaintext: string, key: Buffer): string {
  checkKey(key);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(AAD);
  const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  const tag = cipher.getAuthTag();
  return [VERSION, iv.toString("base64url"), tag.toString("base64url"), ciphertext.toString("base64url")].join(".");
}

/** The plaintext; throws when the value is malformed, was tampered with, or the key is wrong. */
export function openSecret(sealed: string, key: Buffer): string {
  checkKey(key);
  const parts = typeof sealed === "string" ? sealed.split(".") : [];
  const [version, ivText, tagText, ciphertextText] = parts;
  if (parts.length !== 4 || version !== VERSION || ivText === undefined || tagText === undefined || ciphertextText === undefined) {
    throw new Error("Not a sealed secret (expected v1.<iv>.<tag>.<ciphertext>)");
  }
  const iv = Buffer.from(ivText, "base64url");
  const tag = Buffer.from(tagText, "base64url");
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new Error("Malformed sealed secret");
  const decipher = createDecipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(AAD);
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(Buffer.from(ciphertextText, "base64url")), decipher.final()]).toString("utf8");
  } catch (err) {
    throw new Error("The sealed secret cannot be opened (wrong key or tampered)", { cause: err });
  }
}

/**
 * A 32-byte key from configuration material (≥ 32 bytes, high entropy: HKDF is not a
 * password hash). A different `purpose` gives an independent key from the same material.
 */
export function deriveKey(material: string, purpose: string = SECRET_BOX_PURPOSE): Buffer {
  if (typeof material !== "string" || Buffer.byteLength(material) < 32) throw new RangeError("Key material must be at least 32 bytes");
  return Buffer.from(hkdfSync("sha256", material, HKDF_SALT, purpose, KEY_BYTES));
}

/**
 * Base32 (RFC 4648 §6, alphabet A–Z 2–7), the encoding of TOTP secrets in otpauth://
 * URLs and authenticator apps. Decoding is lenient about case, spaces and padding, and
 * strict about everything else.
 */
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

export function base32Encode(data: Uint8Array, options: { padding?: boolean } = {}): string {
  let out = "";
  let bits = 0;
  let value = 0;
  for (const byte of data) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  if (options.padding) while (out.length % 8 !== 0) out += "=";
  return out;
}

/** Throws a SyntaxError for characters outside the alphabet or an impossible length. */
export function base32Decode(text: string): Buffer {
  const clean = text.replace(/[\s=]+/g, "").toUpperCase();
  // 1, 3 or 6 trailing characters cannot come from whole bytes.
  if ([1, 3, 6].includes(clean.length % 8)) throw new SyntaxError("Invalid base32 length");
  const bytes: number[] = [];
  let bits = 0;
  let value = 0;
  for (const char of clean) {
    const index = ALPHABET.indexOf(char);
    if (index < 0) throw new SyntaxError("Invalid base32 character");
    value = ((value << 5) | index) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bytes.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(bytes);
}

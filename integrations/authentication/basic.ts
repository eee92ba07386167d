/**
 * HTTP Basic credentials (RFC 7617): the token after "Basic " is base64 (RFC 4648 §4) of
 * UTF-8 `user-id ":" password`; the user-id cannot contain a colon, so the split is at
 * the first one and the password may contain colons. Neither may contain control characters.
 */
const MAX_DECODED_CHARS = 1024;
/** 1024 characters are at most 4096 UTF-8 bytes, which are 5464 base64 characters. */
const MAX_ENCODED_CHARS = Math.ceil((MAX_DECODED_CHARS * 4) / 3) * 4;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const CONTROL = /[\u0000-\u001f\u007f]/;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The username and password, or null for anything that is not well-formed. */
export function parseBasic(credentials: string): { username: string; password: string } | null {
  if (typeof credentials !== "string") return null;
  const encoded = credentials.trim();
  if (encoded.length > MAX_ENCODED_CHARS) return null; // cheap bound before decoding
  if (!BASE64.test(encoded) || encoded.length % 4 === 1) return null;
  if (encoded.endsWith("=") && encoded.length % 4 !== 0) return null; // padded, so it must be whole
  let decoded: string;
  try {
    decoded = utf8.decode(Buffer.from(encoded, "base64"));
  } catch {
    return null; // not UTF-8
  }
  if ([...decoded].length > MAX_DECODED_CHARS) return null;
  const colon = decoded.indexOf(":");
  if (colon <= 0) return null; // no colon, or an empty username
  if (CONTROL.test(decoded)) return null; // RFC 7617 §2: no control characters
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * Characters no text field of the shop takes (the gateway's input boundary, the e-mail rule):
 * controls, bidirectional overrides, unpaired surrogates; and line breaks outside multi-line fields.
 */

/** An unpaired UTF-16 surrogate: half of a character, not text (databases store it mangled). */
const LONE_SURROGATE = "[\\uD800-\\uDBFF](?![\\uDC00-\\uDFFF])|(?<![\\uD800-\\uDBFF])[\\uDC00-\\uDFFF]";
/** DEL and the C1 controls; the bidirectional embeddings, overrides and isolates (they reorder what a reader sees: "Trojan Source"). */
const DEL_C1_BIDI = "\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069";
/** Refused in every string: C0 controls except TAB, LF and CR, DEL_C1_BIDI, unpaired surrogates. */
const ALWAYS_REFUSED = new RegExp(`[\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F${DEL_C1_BIDI}]|${LONE_SURROGATE}`);
/** Also refused outside multi-line fields: TAB, LF, CR and the Unicode line and paragraph separators. */
const SINGLE_LINE_REFUSED = new RegExp(`[\\u0000-\\u001F\\u2028\\u2029${DEL_C1_BIDI}]|${LONE_SURROGATE}`);

/** "U+0000" for the character at `index`. */
function codePointLabel(text: string, index: number): string {
  return `U+${(text.codePointAt(index) ?? 0).toString(16).toUpperCase().padStart(4, "0")}`;
}

/** The first refused character of `text`, or null. */
export function refusedCharacter(text: string, multiline = false): { index: number; character: string; surrogate: boolean } | null {
  const m = (multiline ? ALWAYS_REFUSED : SINGLE_LINE_REFUSED).exec(text);
  if (!m) return null;
  const code = text.charCodeAt(m.index);
  return { index: m.index, character: codePointLabel(text, m.index), surrogate: code >= 0xd800 && code <= 0xdfff };
}

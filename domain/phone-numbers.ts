/**
 * Phone numbers that may receive sign-in codes by SMS. Plain rules on libphonenumber-js (with
 * its full metadata, which knows number types): a number is given in international form
 * (`+` and the country code; spaces, dots, dashes and brackets are ignored), must be a valid
 * number of its country, one that can receive text messages (mobile, or a "fixed line or
 * mobile" range where the plan does not tell them apart) and, when the deployment names the
 * countries it serves, one of them. Premium-rate, toll-free, shared-cost and landline numbers
 * are refused: SMS to expensive destinations is how "SMS pumping" fraud makes its money.
 * The stored form is E.164 (`+4915112345678`).
 */
import { parsePhoneNumberWithError, ParseError, type NumberType } from "libphonenumber-js/max";

/** Number types an SMS can reach. */
const TEXTABLE: ReadonlySet<NumberType> = new Set<NumberType>(["MOBILE", "FIXED_LINE_OR_MOBILE"]);
/** What may appear in an international number besides digits (as people write them). */
const INPUT = /^\+[0-9 ().\-\u00a0]{2,30}$/;

export type PhoneVerdict = { ok: true; e164: string; country: string } | { ok: false; problem: string };

/**
 * The E.164 form of `input` and its country, or why it cannot receive sign-in codes.
 * `allowedCountries`: ISO 3166-1 alpha-2 codes (upper case); empty means every country.
 */
export function textablePhoneNumber(input: string, allowedCountries: readonly string[] = []): PhoneVerdict {
  if (typeof input !== "string" || !INPUT.test(input.trim())) {
    return { ok: false, problem: "Give the number in international format, starting with + and the country code (e.g. +49 151 12345678)." };
  }
  let parsed;
  try {
    parsed = parsePhoneNumberWithError(input.trim());
  } catch (err) {
    if (err instanceof ParseError) return { ok: false, problem: "This is not a phone number in international format." };
    throw err;
  }
  if (!parsed.isValid() || !parsed.country)
    return { ok: false, problem: "This phone number does not exist in its country's numbering plan." };
  const type = parsed.getType();
  if (!type || !TEXTABLE.has(type)) return { ok: false, problem: "This number cannot receive sign-in codes: give a mobile number." };
  if (allowedCountries.length > 0 && !allowedCountries.includes(parsed.country)) {
    return { ok: false, problem: `Sign-in codes are not sent to numbers in ${parsed.country}.` };
  }
  return { ok: true, e164: parsed.number, country: parsed.country };
}

/** A stored E.164 number as the account's owner may be shown it: the last two digits only. */
export function maskPhoneNumber(e164: string): string {
  const digits = e164.replace(/\D/g, "");
  return `+${"•".repeat(Math.max(0, digits.length - 2))}${digits.slice(-2)}`;
}

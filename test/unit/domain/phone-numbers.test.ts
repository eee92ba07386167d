import { maskPhoneNumber, textablePhoneNumber } from "../../../domain/phone-numbers.ts";

describe("textablePhoneNumber", () => {
  test.each([
    ["+4915112345678", "+4915112345678", "DE"],
    ["+49 151 1234-5678", "+4915112345678", "DE"],
    ["+33 (0)6 12 34 56 78".replace("(0)", ""), "+33612345678", "FR"],
    ["+1 (201) 555-0123", "+12015550123", "US"], // fixed line or mobile: the plan cannot tell
  ])("%j → %s (%s)", (input, e164, country) => {
    expect(textablePhoneNumber(input)).toEqual({ ok: true, e164, country });
  });

  test.each([
    ["015112345678", /international format/], // no country code
    ["4915112345678", /international format/],
    ["+49 151 1234 5678 ext. 9", /international format/],
    ["+49151123456789012345", /international format|numbering plan/],
    ["+4915", /numbering plan/],
    ["+999 1234567", /international format|numbering plan/],
    ["+4930123456", /mobile/], // landline
    ["+4918012345678", /mobile/], // shared cost
    ["+19005550123", /mobile/], // premium rate
    ["+448712345678", /mobile/], // premium rate (UK)
    ["+15005550006", /mobile/], // personal number range
    ["", /international format/],
  ])("%j is refused", (input, problem) => {
    const verdict = textablePhoneNumber(input);
    expect(verdict.ok).toBe(false);
    expect(verdict.ok ? "" : verdict.problem).toMatch(problem);
  });

  test("a deployment may serve some countries only", () => {
    expect(textablePhoneNumber("+4915112345678", ["DE", "AT"]).ok).toBe(true);
    expect(textablePhoneNumber("+33612345678", ["DE", "AT"])).toEqual({
      ok: false,
      problem: "Sign-in codes are not sent to numbers in FR.",
    });
  });
});

test("a number is shown with its last two digits only", () => {
  expect(maskPhoneNumber("+4915112345678")).toBe("+•••••••••••78");
  expect(maskPhoneNumber("+33612345678")).toBe("+•••••••••78");
});

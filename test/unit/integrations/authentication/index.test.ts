import * as auth from "../../../../integrations/authentication/index.ts";

test("the index re-exports the API the users service uses", () => {
  const expected = [
    "PASSWORD_MIN",
    "PASSWORD_MAX",
    "passwordProblem",
    "hashPassword",
    "verifyPassword",
    "verifyAgainstDummy",
    "needsRehash",
    "signAccessToken",
    "verifyAccessToken",
    "TokenError",
    "createTotpSecret",
    "qrCodeDataUrl",
    "totpCode",
    "verifyTotp",
    "sealSecret",
    "openSecret",
    "deriveKey",
    "randomToken",
    "hashToken",
    "safeEqual",
    "createRecoveryCodes",
    "normalizeRecoveryCode",
    "hashRecoveryCode",
    "parseBasic",
    "createLimiter",
    "Limiter",
    "createKeySet",
    "KeySet",
    "issueDeviceToken",
    "readDeviceToken",
  ];
  const missing = expected.filter((name) => typeof (auth as Record<string, unknown>)[name] === "undefined");
  expect(missing).toEqual([]);
});

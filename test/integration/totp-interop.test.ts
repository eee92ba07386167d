/**
 * Interoperability: a code from a standard RFC 6238 generator (oathtool, Debian's package,
 * installed by .ci/run) is accepted for our secrets, and our codes match its codes.
 * Skipped loudly without oathtool, unless REQUIRE_SERVICES=1.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createTotpSecret, verifyTotp, totpCode } from "../../integrations/authentication/index.ts";

const available = spawnSync("oathtool", ["--version"]).status === 0;
if (!available && process.env.REQUIRE_SERVICES === "1")
  throw new Error("REQUIRE_SERVICES=1 and oathtool is not installed (apt-get install oathtool).");
if (!available) console.warn("\n*** SKIPPED: oathtool is not installed (apt-get install oathtool). ***\n");

(available ? describe : describe.skip)("TOTP against oathtool", () => {
  test("codes agree at fixed times and now; oathtool's code is accepted once", () => {
    const { base32 } = createTotpSecret("interop@example.com", "moleculer-shop");
    for (const at of ["2009-02-13 23:31:30", "2033-05-18 03:33:20", "1970-01-01 00:00:59"]) {
      const theirs = execFileSync("oathtool", ["--totp", "-b", "--now", `${at} UTC`, base32])
        .toString()
        .trim();
      expect(totpCode(base32, Date.parse(`${at.replace(" ", "T")}Z`))).toBe(theirs);
    }
    const now = Date.now();
    const code = execFileSync("oathtool", [
      "--totp",
      "-b",
      "--now",
      `${new Date(now).toISOString().replace("T", " ").slice(0, 19)} UTC`,
      base32,
    ])
      .toString()
      .trim();
    const first = verifyTotp(base32, code, null, now);
    expect(first.ok).toBe(true);
    expect(verifyTotp(base32, code, first.ok ? first.step : null, now)).toEqual({ ok: false, reason: "replayed" });
  });
});

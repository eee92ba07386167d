/**
 * Which SMS actions the broker may run again after a timeout (middlewares/retry-policy.ts):
 * reads only. Sending a text twice texts (and pays for) a second code; checking a code spends
 * something single-use, so a retry would be refused and hide what the first attempt did.
 * The OpenID actions: oidc.actions.test.ts.
 */
import { isIdempotent } from "../../../../middlewares/retry-policy.ts";
import { smsActions } from "../../../../services/users/sms.actions.ts";

test("only the reads of the SMS actions may be retried", () => {
  const retried = Object.entries(smsActions)
    .filter(([, action]) => isIdempotent(action))
    .map(([name]) => name)
    .sort();
  expect(retried).toEqual(["twoFactorStatus"]);
  for (const send of ["smsEnrol", "smsSendCode", "loginSmsSend"]) expect(smsActions[send]!.idempotent).toBe(false);
});

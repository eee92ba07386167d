/**
 * Which SMS and OpenID sign-in actions the broker may run again after a timeout
 * (middlewares/retry-policy.ts): reads only. Sending a text twice texts (and pays for) a
 * second code; checking a code or finishing an OpenID sign-in spends something single-use,
 * so a retry would be refused and hide what the first attempt did. The callback is a GET,
 * which would count as idempotent unless it says otherwise.
 */
import { isIdempotent } from "../../middlewares/retry-policy.ts";
import { smsActions } from "../../services/users/sms.actions.ts";
import { oidcActions } from "../../services/users/oidc.actions.ts";

test("only the reads of the SMS and OpenID actions may be retried", () => {
  const actions = { ...smsActions, ...oidcActions };
  const retried = Object.entries(actions)
    .filter(([, action]) => isIdempotent(action))
    .map(([name]) => name)
    .sort();
  // oidcStart only makes a new flow (and a redirect) again: harmless.
  expect(retried).toEqual(["oidcProviders", "oidcStart", "twoFactorStatus"]);
  expect(oidcActions.oidcCallback!.rest).toMatch(/^GET /);
  for (const send of ["smsEnrol", "smsSendCode", "loginSmsSend"]) expect(smsActions[send]!.idempotent).toBe(false);
});

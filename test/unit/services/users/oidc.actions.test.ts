/**
 * Which OpenID sign-in actions the broker may run again after a timeout
 * (middlewares/retry-policy.ts): reads only. Finishing an OpenID sign-in spends something
 * single-use (the flow, the provider's code), so a retry would be refused and hide what the
 * first attempt did. The callback is a GET, which would count as idempotent unless it says
 * otherwise. The SMS actions: sms.actions.test.ts.
 */
import { isIdempotent } from "../../../../middlewares/retry-policy.ts";
import { oidcActions } from "../../../../services/users/oidc.actions.ts";

test("only the reads of the OpenID actions may be retried", () => {
  const retried = Object.entries(oidcActions)
    .filter(([, action]) => isIdempotent(action))
    .map(([name]) => name)
    .sort();
  // oidcStart only makes a new flow (and a redirect) again: harmless.
  expect(retried).toEqual(["oidcProviders", "oidcStart"]);
  expect(oidcActions.oidcCallback!.rest).toMatch(/^GET /);
});

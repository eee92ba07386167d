/**
 * What an action's definition does not say and the document needs: a success status other
 * than the rule's (DELETE → 204, POST create* → 201, else 200), error statuses the rules do
 * not derive, request headers it reads. An action may carry the same object as its own
 * `openapi` property (it travels with remote actions like `rest` and `access`); this table is
 * for actions whose files this generator does not own. The integration test compares the
 * success statuses with the `$statusCode` each local handler sets, so this cannot drift quietly.
 */
export interface OperationHints {
  /** One line for the operation list; default: the action name in words. */
  summary?: string;
  /** Success statuses, the main one first. */
  success?: number[];
  /** Media type of the success body (default application/json); null: no body; "*\/*": a file with its own type. */
  successContent?: string | null;
  /** Error statuses the rules do not derive for this action. */
  more?: number[];
  /** Derived error statuses that cannot happen for this action. */
  not?: number[];
  /** Request headers the action reads, documented as header parameters. */
  headers?: string[];
}

export const HINTS: Record<string, OperationHints> = {
  "api.ready": { summary: "Readiness: every routed service discovered and reaching its database", more: [503] },
  "api.live": { summary: "Liveness: the process answers" },

  "users.register": { summary: "Create an account", success: [201], more: [409, 429] },
  "users.login": { summary: "Sign in with e-mail and password (tokens, or an MFA step)", more: [401, 429] },
  "users.loginTotp": { summary: "Second sign-in step: TOTP or recovery code", more: [401, 429] },
  "users.refresh": { summary: "Rotate a refresh token", more: [401, 429] },
  "users.logout": { summary: "End this session", success: [204], not: [409] },
  "users.verifyEmail": { summary: "Confirm an e-mail address" },
  "users.forgotPassword": { summary: "Ask for a password-reset link (always 202)", success: [202], more: [429] },
  "users.resetPassword": { summary: "Set a new password with a reset token", more: [429] },
  // Every request it cannot take is RFC 6749's 400 invalid_request, never a 422.
  "users.token": { summary: "OAuth 2.0 token endpoint (client_credentials, refresh_token)", more: [429], not: [422] },
  "users.twoFactorSetup": { summary: "Start two-factor setup: a TOTP secret and QR code" },
  "users.twoFactorEnable": { summary: "Turn two-factor authentication on (returns recovery codes)" },
  "users.twoFactorDisable": { summary: "Turn two-factor authentication off" },
  "users.twoFactorRecoveryCodes": { summary: "Replace the recovery codes" },
  "users.me": { summary: "Own profile" },
  "users.updateMe": { summary: "Change own name or password" },
  "users.createClient": { summary: "Create an API client (the secret is shown once; admin role and above: superusers only)" },
  "users.listClients": { summary: "Own API clients (a superuser: all), each with the role it acts with now" },
  "users.removeClient": { summary: "Delete an API client: its creator or a superuser; its tokens stop at once", success: [204] },
  "users.remove": { summary: "Delete an account, its sessions and its files (product images it uploaded stay)", success: [204] },

  // Product images and avatars (products/images.actions.ts, users/avatar.actions.ts).
  "products.attachImage": { summary: "Attach an image to a product: one's own ready upload or a picture another product shows (422 on fileId otherwise)" },
  "products.detachImage": { summary: "Detach an image from a product (the file itself stays)", not: [409] },
  "products.reorderImages": { summary: "Reorder a product's images (the same ids, in a new order)" },
  "users.setAvatar": { summary: "Set own avatar: one of one's own uploaded images" },
  "users.removeAvatar": { summary: "Remove own avatar", not: [409] },

  "orders.create": { summary: "Checkout: place an order", success: [201], headers: ["Idempotency-Key"] },
  "orders.cancel": { summary: "Cancel an order" },
  "orders.setStatus": { summary: "Move an order along its lifecycle" },

  "mail.failed": { summary: "Dead-lettered e-mails" },
  "mail.retry": { summary: "Re-queue a dead-lettered e-mail", success: [202] },

  "storage.upload": { summary: "Upload a file (multipart/form-data)", success: [201] },
  "storage.presign": { summary: "Register a file and get a URL to PUT its content to", success: [201] },
  "storage.get": {
    summary: "Download a file (or a redirect to it); product images and avatars need no credentials",
    success: [200, 302],
    successContent: "*/*",
  },
  // A URL whose signature, method, type or size does not match is a 403 (SIGNATURE_MISMATCH, URL_EXPIRED).
  "storage.signedGet": { summary: "Download through a signed URL", successContent: "*/*", more: [403] },
  "storage.signedPut": { summary: "Upload the content of a presigned file", more: [400, 403, 408, 409, 411] },
};

/** Request headers the generator knows how to describe. */
export const HEADER_PARAMETERS: Record<string, { description: string; schema: Record<string, unknown> }> = {
  "Idempotency-Key": {
    description:
      "Makes a retry safe: the same key and body within 24 h return the first result with `Idempotent-Replayed: true`; the same key with another body is a 422, and while the first request is still running, a 409.",
    schema: { type: "string", pattern: "^[\\x21-\\x7e]{1,255}$" },
  },
};

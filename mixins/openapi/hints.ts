/**
 * What an action's definition does not say and the document needs: a success status other
 * than the rule's (DELETE → 204, POST create* → 201, else 200), the schema of its success
 * answer (mixins/openapi/entities.ts), error statuses the rules do not derive, request headers it
 * reads. An action may carry the same object as its own `openapi` property (it travels with
 * remote actions like `rest` and `access`); this table is for actions whose files this
 * generator does not own. The integration tests compare the success statuses with the
 * `$statusCode` each local handler sets, and the response schemas with real answers compiled
 * against the types openapi-typescript makes of them, so this cannot drift quietly.
 */
export interface OperationHints {
  /** One line for the operation list; default: the action name in words. */
  summary?: string;
  /** Success statuses, the main one first. */
  success?: number[];
  /** Media type of the success body (default application/json); null: no body; "*\/*": a file with its own type. */
  successContent?: string | null;
  /**
   * The JSON success answer: the name of a schema of mixins/openapi/entities.ts ("Product",
   * "ProductPage"), or a schema. Without it the document can only say "an object" (or "a page").
   */
  response?: string | Record<string, unknown>;
  /** Error statuses whose body is one of those schemas rather than the Error shape (readiness's 503). */
  bodies?: Record<number, string>;
  /** Error statuses the rules do not derive for this action. */
  more?: number[];
  /** Derived error statuses that cannot happen for this action. */
  not?: number[];
  /** Request headers the action reads, documented as header parameters. */
  headers?: string[];
}

export const HINTS: Record<string, OperationHints> = {
  "api.ready": {
    summary: "Readiness: every routed service discovered and reaching its database",
    more: [503],
    response: "Readiness",
    bodies: { 503: "Readiness" },
  },
  "api.live": { summary: "Liveness: the process answers", response: "Liveness" },

  "users.register": { summary: "Create an account", success: [201], more: [409, 429], response: "User" },
  "users.login": {
    summary: "Sign in with e-mail and password (tokens, or an MFA step)",
    more: [401, 429],
    response: { oneOf: [{ $ref: "#/components/schemas/Tokens" }, { $ref: "#/components/schemas/SecondFactorRequired" }] },
  },
  "users.loginTotp": { summary: "Second sign-in step: TOTP or recovery code", more: [401, 429], response: "Tokens" },
  "users.refresh": { summary: "Rotate a refresh token", more: [401, 429], response: "Tokens" },
  "users.logout": { summary: "End this session", success: [204], not: [409] },
  "users.verifyEmail": { summary: "Confirm an e-mail address", response: "EmailVerified" },
  "users.forgotPassword": {
    summary: "Ask for a password-reset link (always 202)",
    success: [202],
    more: [429],
    response: "ResetRequested",
  },
  "users.resetPassword": { summary: "Set a new password with a reset token", more: [429], response: "PasswordReset" },
  // Every request it cannot take is RFC 6749's 400 invalid_request, never a 422.
  "users.token": {
    summary: "OAuth 2.0 token endpoint (client_credentials, refresh_token)",
    more: [429],
    not: [422],
    response: "OAuthToken",
  },
  "users.twoFactorSetup": { summary: "Start two-factor setup: a TOTP secret and QR code", response: "TwoFactorSetup" },
  "users.twoFactorEnable": { summary: "Turn two-factor authentication on (returns recovery codes)", response: "TwoFactorEnabled" },
  "users.twoFactorDisable": { summary: "Turn two-factor authentication off", response: "TwoFactorDisabled" },
  "users.twoFactorRecoveryCodes": { summary: "Replace the recovery codes", response: "RecoveryCodes" },
  "users.me": { summary: "Own profile", response: "User" },
  "users.updateMe": { summary: "Change own name or password", response: "User" },
  "users.list": { response: "UserPage" },
  "users.get": { response: "User" },
  "users.update": { response: "User" },
  "users.createClient": {
    summary: "Create an API client (the secret is shown once; admin role and above: superusers only)",
    response: "ApiClientCreated",
  },
  "users.listClients": { summary: "Own API clients (a superuser: all), each with the role it acts with now", response: "ApiClientPage" },
  "users.removeClient": { summary: "Delete an API client: its creator or a superuser; its tokens stop at once", success: [204] },
  "users.remove": { summary: "Delete an account, its sessions and its files (product images it uploaded stay)", success: [204] },

  "products.list": { response: "ProductPage" },
  "products.get": { response: "Product" },
  "products.create": { response: "Product" },
  "products.update": { response: "Product" },
  // Product images and avatars (products/images.actions.ts, users/avatar.actions.ts).
  "products.attachImage": {
    summary: "Attach an image to a product: one's own ready upload or a picture another product shows (422 on fileId otherwise)",
    response: "Product",
  },
  "products.detachImage": { summary: "Detach an image from a product (the file itself stays)", not: [409] },
  "products.reorderImages": { summary: "Reorder a product's images (the same ids, in a new order)", response: "Product" },
  "users.setAvatar": { summary: "Set own avatar: one of one's own uploaded images", response: "User" },
  "users.removeAvatar": { summary: "Remove own avatar", not: [409] },

  "orders.create": { summary: "Checkout: place an order", success: [201], headers: ["Idempotency-Key"], response: "Order" },
  "orders.list": { response: "OrderPage" },
  "orders.get": { response: "Order" },
  "orders.cancel": { summary: "Cancel an order", response: "Order" },
  "orders.setStatus": { summary: "Move an order along its lifecycle", response: "Order" },

  "mail.failed": { summary: "Dead-lettered e-mails", response: "DeadLetterPage" },
  "mail.retry": { summary: "Re-queue a dead-lettered e-mail", success: [202], response: "MailRetry" },

  "storage.upload": { summary: "Upload a file (multipart/form-data)", success: [201], response: "File" },
  "storage.list": { response: "FilePage" },
  "storage.presign": { summary: "Register a file and get a URL to PUT its content to", success: [201], response: "PresignedUpload" },
  "storage.complete": { response: "File" },
  "storage.get": {
    summary: "Download a file (or a redirect to it); product images and avatars need no credentials",
    success: [200, 302],
    successContent: "*/*",
  },
  // A URL whose signature, method, type or size does not match is a 403 (SIGNATURE_MISMATCH, URL_EXPIRED).
  "storage.signedGet": { summary: "Download through a signed URL", successContent: "*/*", more: [403] },
  "storage.signedPut": { summary: "Upload the content of a presigned file", successContent: null, more: [400, 403, 408, 409, 411] },
};

/** Request headers the generator knows how to describe. */
export const HEADER_PARAMETERS: Record<string, { description: string; schema: Record<string, unknown> }> = {
  "Idempotency-Key": {
    description:
      "Makes a retry safe: the same key and body within 24 h return the first result with `Idempotent-Replayed: true`; " +
      "the same key with another body is a 422, and while the first request is still running, a 409.",
    schema: { type: "string", pattern: "^[\\x21-\\x7e]{1,255}$" },
  },
};

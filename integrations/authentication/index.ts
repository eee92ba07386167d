/**
 * Authentication building blocks for the users service and the gateway: passwords,
 * access tokens, TOTP, one-time codes (SMS), sealed secrets, opaque tokens, Basic credentials, rate limits.
 * Each module is pure and does one job; this file only re-exports them.
 */
export * from "./passwords.ts";
export * from "./jwt.ts";
export * from "./totp.ts";
export * from "./secret-box.ts";
export * from "./tokens.ts";
export * from "./basic.ts";
export * from "./rate-limit.ts";
export * from "./semaphore.ts";
export * from "./one-time-codes.ts";
export * from "./device-tokens.ts";

/**
 * Sending a text message (sign-in and enrolment codes): through Twilio's Programmable
 * Messaging API with the official SDK, or, in the embedded default, into an outbox folder as
 * one JSON file per message (as mail does with .eml files), so nothing needs configuring to
 * try the flows. The options come from the caller (the users service reads the configuration).
 *
 * Failures are SmsErrors that say what the caller can tell the person: "invalid-recipient"
 * (the provider will not deliver to this number: a clear 4xx), or "unavailable" (the provider
 * is down, busy or refused us: a 503, try again later). `delivered` says whether the message
 * may still arrive (the request timed out or the provider failed after accepting it), so the
 * caller can keep the code it sent valid; a refusal means it will not.
 *
 * The Twilio SDK (~40 files, ~10 MB) is imported only when the provider is Twilio.
 */
export { createOutboxSender } from "./outbox.ts";
export * from "./types.ts";

import { createOutboxSender } from "./outbox.ts";
import type { SmsOptions, SmsSender } from "./types.ts";

export async function createSmsSender(options: SmsOptions): Promise<SmsSender> {
  if (options.provider !== "twilio") return createOutboxSender(options);
  const { createTwilioSender } = await import("./twilio.ts");
  return createTwilioSender(options);
}

/** What every SMS sender takes and answers, and how it fails. */

export interface SmsMessage {
  /** Our id for this message (the challenge it carries a code for): names the outbox file, tags logs. */
  id: string;
  /** E.164, e.g. +4915112345678. */
  to: string;
  body: string;
}

export interface SmsReceipt {
  /** The provider's id of the accepted message (Twilio: SM…), or the outbox file's name. */
  messageId: string;
  /** Twilio's status right after sending ("queued", "accepted", …); "written" for the outbox. */
  status: string;
}

export interface SmsSender {
  readonly kind: "outbox" | "twilio";
  send(message: SmsMessage): Promise<SmsReceipt>;
}

export interface OutboxSmsOptions {
  provider: "outbox";
  /** The folder each message is written to, as `<time>-<id>.json`. */
  outboxDir: string;
}

export interface TwilioSmsOptions {
  provider: "twilio";
  accountSid: string;
  authToken: string;
  /** The sender: an E.164 number (or alphanumeric sender id) of the account… */
  from: string | null;
  /** …or a Messaging Service (MG…), which picks the sender itself. Exactly one of the two. */
  messagingServiceSid: string | null;
  /** Where Twilio's REST API is (default https://api.twilio.com): a test stand-in or an egress proxy. */
  apiUrl?: string | null;
  /** One request's limit, connecting included (default 10 s). */
  timeoutMs?: number;
}

export type SmsOptions = OutboxSmsOptions | TwilioSmsOptions;

export type SmsFailure = "invalid-recipient" | "unavailable";

export class SmsError extends Error {
  override name = "SmsError";
  readonly reason: SmsFailure;
  /** The message may still be delivered (timeout, or a provider error after it may have accepted it). */
  readonly maybeDelivered: boolean;
  /** Seconds the caller should wait before trying again (unavailable only). */
  readonly retryAfterSec: number | null;
  /** The provider's HTTP status and error code (Twilio's numbered errors), when it answered. */
  readonly providerStatus: number | null;
  readonly providerCode: number | null;

  constructor(
    reason: SmsFailure,
    message: string,
    details: {
      maybeDelivered?: boolean;
      retryAfterSec?: number | null;
      providerStatus?: number | null;
      providerCode?: number | null;
      cause?: unknown;
    } = {},
  ) {
    super(message, { cause: details.cause });
    this.reason = reason;
    this.maybeDelivered = details.maybeDelivered ?? false;
    this.retryAfterSec = details.retryAfterSec ?? null;
    this.providerStatus = details.providerStatus ?? null;
    this.providerCode = details.providerCode ?? null;
  }
}

/**
 * SMS through Twilio's Programmable Messaging API (POST /2010-04-01/Accounts/{sid}/Messages.json),
 * with the official SDK. The shop makes, stores (hashed) and checks its codes itself, so one
 * message API is all it needs from Twilio (README: why not Verify).
 *
 * The SDK is given its own HTTP client: without an `apiUrl`, the SDK's own; with one, the same
 * client with every request's origin moved there (a stand-in in tests, or an egress proxy),
 * path, Basic authentication, headers and form body unchanged. The SDK's automatic retry
 * on 429 is off: a message is sent at most once per call, and the caller decides what next.
 *
 * Errors, from what Twilio answers (https://www.twilio.com/docs/api/errors):
 *   400 with a recipient error (invalid, not a mobile, unreachable, opted out, region
 *   not enabled)                      → "invalid-recipient"
 *   429 (Twilio's queue is full)      → "unavailable", retry after 30 s, not delivered
 *   5xx, a timeout, a reset connection → "unavailable", may still be delivered
 *   401/403 and any other 4xx (our credentials, our sender, our request) → "unavailable"
 *   (the person cannot fix it; the message says what to fix, for the log)
 *   no connection at all              → "unavailable", not delivered
 */
import twilio from "twilio";
import { SmsError, type SmsSender, type TwilioSmsOptions } from "./types.ts";

/** Twilio error codes that mean "not to this number". */
export const RECIPIENT_ERRORS: ReadonlyMap<number, string> = new Map([
  [21211, "The phone number is not valid."],
  [21217, "The phone number is not valid."],
  [21265, "Short codes cannot receive sign-in codes."],
  [21408, "Sign-in codes cannot be sent to this country."],
  [21610, "This number has opted out of messages from us (reply START to opt back in)."],
  [21612, "Messages cannot be sent to this number."],
  [21614, "This number cannot receive text messages: give a mobile number."],
  [21635, "This number cannot receive text messages: give a mobile number."],
]);

/** Errors before any byte reached Twilio: the message was certainly not sent. */
const NOT_SENT = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "ERR_INVALID_URL", "CERT_HAS_EXPIRED"]);

type RequestOptions = Parameters<twilio.RequestClient["request"]>[0];

/** The SDK's HTTP client, sending every request to `apiUrl`'s origin instead of Twilio's. */
class RelocatedRequestClient extends twilio.RequestClient {
  readonly #origin: URL;

  constructor(apiUrl: string, options: ConstructorParameters<typeof twilio.RequestClient>[0]) {
    super(options);
    this.#origin = new URL(apiUrl);
  }

  override request<T>(opts: RequestOptions & { data?: T }) {
    const uri = new URL(opts.uri);
    uri.protocol = this.#origin.protocol;
    uri.host = this.#origin.host;
    return super.request({ ...opts, uri: uri.href });
  }
}

function classify(err: unknown, to: string): SmsError {
  if (err instanceof twilio.RestException) {
    const status = err.status;
    const code = typeof err.code === "number" ? err.code : null;
    const details = { providerStatus: status, providerCode: code, cause: err };
    if (code !== null && RECIPIENT_ERRORS.has(code)) return new SmsError("invalid-recipient", RECIPIENT_ERRORS.get(code)!, details);
    if (status === 429)
      return new SmsError("unavailable", `Twilio is refusing messages for now (429, code ${code}).`, { ...details, retryAfterSec: 30 });
    if (status >= 500)
      return new SmsError("unavailable", `Twilio failed (${status}, code ${code}).`, {
        ...details,
        retryAfterSec: 10,
        maybeDelivered: true,
      });
    return new SmsError("unavailable", `Twilio refused the request to ${to.slice(0, 4)}…: ${status} code ${code}: ${err.message}`, {
      ...details,
      retryAfterSec: 60,
    });
  }
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === "string" ? e.code : "";
  const maybeDelivered = !NOT_SENT.has(code);
  return new SmsError("unavailable", `Twilio could not be reached (${code || String(e?.message ?? err)}).`, {
    retryAfterSec: 10,
    maybeDelivered,
    cause: err,
  });
}

export async function createTwilioSender(options: TwilioSmsOptions): Promise<SmsSender> {
  if ((options.from === null) === (options.messagingServiceSid === null))
    throw new TypeError("Give exactly one of from and messagingServiceSid");
  const timeout = options.timeoutMs ?? 10_000;
  const httpOptions = { timeout, autoRetry: false, keepAlive: true };
  const client = twilio(options.accountSid, options.authToken, {
    autoRetry: false,
    timeout,
    ...(options.apiUrl ? { httpClient: new RelocatedRequestClient(options.apiUrl, httpOptions) } : {}),
  });
  const sender = options.messagingServiceSid ? { messagingServiceSid: options.messagingServiceSid } : { from: options.from! };
  return {
    kind: "twilio",
    async send(message) {
      try {
        const sent = await client.messages.create({ to: message.to, body: message.body, ...sender });
        return { messageId: sent.sid, status: String(sent.status) };
      } catch (err) {
        throw classify(err, message.to);
      }
    },
  };
}

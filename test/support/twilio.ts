/**
 * A stand-in for the part of Twilio's REST API the shop uses: creating a message
 * (POST /2010-04-01/Accounts/{AccountSid}/Messages.json, form-encoded To, From or
 * MessagingServiceSid, Body), with Twilio's authentication (HTTP Basic, AccountSid:AuthToken)
 * and Twilio's JSON answers: 201 with the message resource, 400/401/404/429/5xx with
 * `{code, message, more_info, status}`. The real SDK talks to it (TWILIO_API_URL), so tests see
 * exactly what would go over the wire. Every request is recorded; accepted messages are kept.
 *
 * Faults, for the next requests: `failNext({status, code, message})` answers an error without
 * sending; `failAfterAccept` keeps the message (it "went out") and still answers a 5xx;
 * `stallNext(ms)` answers late (timeouts); `refuse(number, …)` refuses one recipient for good.
 */
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { randomBytes } from "node:crypto";
import { isValidPhoneNumber } from "libphonenumber-js";

export interface TwilioRequest {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  form: Record<string, string>;
}

export interface TwilioMessage {
  sid: string;
  to: string;
  from: string | null;
  messagingServiceSid: string | null;
  body: string;
  at: Date;
}

export interface TwilioFault {
  status: number;
  code: number;
  message: string;
}

export interface TwilioStandIn {
  url: string;
  accountSid: string;
  authToken: string;
  requests: TwilioRequest[];
  messages: TwilioMessage[];
  /**
   * The next `times` message requests fail with `fault`; with `afterAccept`, the message is kept
   * (it went out) and the fault answered anyway.
   */
  failNext(fault: TwilioFault, options?: { times?: number; afterAccept?: boolean }): void;
  /** The next message request is answered after `ms`. */
  stallNext(ms: number): void;
  /** Messages to `to` are refused with `fault` (e.g. 21610: the recipient replied STOP). */
  refuse(to: string, fault: TwilioFault): void;
  /** The code (6 digits) of the last message to `to`. */
  lastCode(to: string): string | undefined;
  reset(): void;
  close(): Promise<void>;
}

const hex = (bytes: number) => randomBytes(bytes).toString("hex");
const E164 = /^\+[1-9][0-9]{1,14}$/;

export const TWILIO_ERRORS = {
  invalidTo: (to: string): TwilioFault => ({ status: 400, code: 21211, message: `The 'To' number ${to} is not a valid phone number.` }),
  tooManyRequests: { status: 429, code: 20429, message: "Too Many Requests" } as TwilioFault,
  internal: { status: 500, code: 20500, message: "An internal server error has occurred" } as TwilioFault,
  unavailable: { status: 503, code: 20503, message: "Service unavailable" } as TwilioFault,
  unsubscribed: { status: 400, code: 21610, message: "Attempt to send to unsubscribed recipient" } as TwilioFault,
};

function answer(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8" });
  res.end(JSON.stringify(body));
}

function error(res: ServerResponse, fault: TwilioFault) {
  answer(res, fault.status, {
    code: fault.code,
    message: fault.message,
    more_info: `https://www.twilio.com/docs/errors/${fault.code}`,
    status: fault.status,
  });
}

export async function startTwilioStandIn(options: { accountSid?: string; authToken?: string } = {}): Promise<TwilioStandIn> {
  const accountSid = options.accountSid ?? `AC${hex(16)}`;
  const authToken = options.authToken ?? hex(16);
  const requests: TwilioRequest[] = [];
  const messages: TwilioMessage[] = [];
  const refused = new Map<string, TwilioFault>();
  let faults: { fault: TwilioFault; afterAccept: boolean }[] = [];
  let stalls: number[] = [];

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    const isForm = (req.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded");
    const form = isForm ? Object.fromEntries(new URLSearchParams(raw)) : {};
    const path = (req.url ?? "").split("?")[0]!;
    requests.push({ method: req.method ?? "", path, headers: req.headers, form });

    const route = path.match(/^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/);
    if (!route || req.method !== "POST")
      return error(res, { status: 404, code: 20404, message: `The requested resource ${path} was not found` });
    const [scheme, encoded = ""] = (req.headers.authorization ?? "").split(" ");
    const [user, password] = Buffer.from(encoded, "base64").toString("utf8").split(":");
    if (scheme !== "Basic" || user !== accountSid || password !== authToken || route[1] !== accountSid) {
      return error(res, { status: 401, code: 20003, message: "Authenticate" });
    }
    const stall = stalls.shift();
    if (stall) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, stall);
        res.once("close", () => (clearTimeout(timer), resolve()));
      });
    }
    if (res.destroyed) return;

    const { To: to, From: from, MessagingServiceSid: service, Body: body } = form;
    if (!to) return error(res, { status: 400, code: 21604, message: "A 'To' phone number is required." });
    if (!from && !service) return error(res, { status: 400, code: 21603, message: "A 'From' phone number is required." });
    if (!body) return error(res, { status: 400, code: 21602, message: "Message body is required." });
    // Twilio checks the number against numbering plans, not only its shape.
    if (!E164.test(to) || !isValidPhoneNumber(to)) return error(res, TWILIO_ERRORS.invalidTo(to));
    const refusal = refused.get(to);
    if (refusal) return error(res, refusal);
    const fault = faults.shift();
    if (fault && !fault.afterAccept) return error(res, fault.fault);

    const sid = `SM${hex(16)}`;
    const now = new Date();
    messages.push({ sid, to, from: from ?? null, messagingServiceSid: service ?? null, body, at: now });
    if (fault) return error(res, fault.fault);
    answer(res, 201, {
      account_sid: accountSid,
      api_version: "2010-04-01",
      body,
      date_created: now.toUTCString(),
      date_sent: null,
      date_updated: now.toUTCString(),
      direction: "outbound-api",
      error_code: null,
      error_message: null,
      from: from ?? null,
      messaging_service_sid: service ?? null,
      num_media: "0",
      num_segments: "1",
      price: null,
      price_unit: "USD",
      sid,
      status: service ? "accepted" : "queued",
      subresource_uris: { media: `/2010-04-01/Accounts/${accountSid}/Messages/${sid}/Media.json` },
      to,
      uri: `/2010-04-01/Accounts/${accountSid}/Messages/${sid}.json`,
    });
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) answer(res, 500, { code: 20500, message: String(err), status: 500 });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    accountSid,
    authToken,
    requests,
    messages,
    failNext(fault, { times = 1, afterAccept = false } = {}) {
      for (let i = 0; i < times; i++) faults.push({ fault, afterAccept });
    },
    stallNext(ms) {
      stalls.push(ms);
    },
    refuse(to, fault) {
      refused.set(to, fault);
    },
    lastCode(to) {
      const message = [...messages].reverse().find((m) => m.to === to);
      return message?.body.match(/\b(\d{6})\b/)?.[1];
    },
    reset() {
      requests.length = 0;
      messages.length = 0;
      refused.clear();
      faults = [];
      stalls = [];
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

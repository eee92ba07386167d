/**
 * The SMS adapters (integrations/sms/) on their own: the official Twilio SDK against the
 * local stand-in of Twilio's REST API (test/support/twilio.ts): the request on the wire
 * (path, Basic authentication, form fields, the SDK's user agent), and each kind of failure
 * turned into an SmsError that says what the shop can tell the person, sent at most once.
 * And the outbox folder of the embedded default.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createSmsSender, SmsError, type SmsSender } from "../../integrations/sms/index.ts";
import { startTwilioStandIn, TWILIO_ERRORS, type TwilioStandIn } from "../support/twilio.ts";
import { freePort } from "../../scripts/support/free-port.ts";

const TO = "+4915112345678";
const FROM = "+15005550006";

let twilio: TwilioStandIn;
let sender: SmsSender;

beforeAll(async () => {
  twilio = await startTwilioStandIn();
  sender = await createSmsSender({
    provider: "twilio",
    accountSid: twilio.accountSid,
    authToken: twilio.authToken,
    from: FROM,
    messagingServiceSid: null,
    apiUrl: twilio.url,
    timeoutMs: 1500,
  });
});
beforeEach(() => twilio.reset());
afterAll(() => twilio?.close());

async function failure(p: Promise<unknown>): Promise<SmsError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SmsError);
  return err as SmsError;
}

describe("Twilio through the official SDK", () => {
  test("one POST to the account's Messages.json, Basic auth with the account SID and token, To/From/Body form-encoded", async () => {
    const receipt = await sender.send({ id: "c1", to: TO, body: "123456 is your code" });
    expect(receipt).toEqual({ messageId: expect.stringMatching(/^SM[0-9a-f]{32}$/), status: "queued" });
    expect(twilio.requests).toHaveLength(1);
    const [req] = twilio.requests;
    expect(req!.method).toBe("POST");
    expect(req!.path).toBe(`/2010-04-01/Accounts/${twilio.accountSid}/Messages.json`);
    expect(req!.headers.authorization).toBe(`Basic ${Buffer.from(`${twilio.accountSid}:${twilio.authToken}`).toString("base64")}`);
    expect(req!.headers["content-type"]).toMatch(/^application\/x-www-form-urlencoded/);
    expect(req!.headers["user-agent"]).toMatch(/^twilio-node\//);
    expect(req!.form).toEqual({ To: TO, From: FROM, Body: "123456 is your code" });
    expect(twilio.messages.map((m) => m.sid)).toEqual([receipt.messageId]);
  });

  test("a Messaging Service picks the sender: MessagingServiceSid instead of From", async () => {
    const service = `MG${"a".repeat(32)}`;
    const viaService = await createSmsSender({
      provider: "twilio",
      accountSid: twilio.accountSid,
      authToken: twilio.authToken,
      from: null,
      messagingServiceSid: service,
      apiUrl: twilio.url,
    });
    expect(await viaService.send({ id: "c2", to: TO, body: "654321" })).toMatchObject({ status: "accepted" });
    expect(twilio.requests[0]!.form).toEqual({ To: TO, MessagingServiceSid: service, Body: "654321" });
  });

  test("a number Twilio refuses (21211 invalid, 21610 opted out) is an invalid-recipient error, not sent", async () => {
    const invalid = await failure(sender.send({ id: "c3", to: "+1555", body: "x" }));
    expect(invalid).toMatchObject({
      reason: "invalid-recipient",
      providerStatus: 400,
      providerCode: 21211,
      maybeDelivered: false,
      message: "The phone number is not valid.",
    });
    twilio.refuse(TO, TWILIO_ERRORS.unsubscribed);
    expect(await failure(sender.send({ id: "c4", to: TO, body: "x" }))).toMatchObject({ reason: "invalid-recipient", providerCode: 21610 });
    expect(twilio.messages).toHaveLength(0);
  });

  test("429: unavailable, not delivered, asked once (the SDK's own retry is off)", async () => {
    twilio.failNext(TWILIO_ERRORS.tooManyRequests, { times: 5 });
    const err = await failure(sender.send({ id: "c5", to: TO, body: "x" }));
    expect(err).toMatchObject({
      reason: "unavailable",
      providerStatus: 429,
      providerCode: 20429,
      maybeDelivered: false,
      retryAfterSec: 30,
    });
    expect(twilio.requests).toHaveLength(1);
  });

  test.each([
    ["500", TWILIO_ERRORS.internal],
    ["503", TWILIO_ERRORS.unavailable],
  ])("%s: unavailable, and the message may still arrive", async (_label, fault) => {
    twilio.failNext(fault, { afterAccept: true });
    expect(await failure(sender.send({ id: "c6", to: TO, body: "x" }))).toMatchObject({
      reason: "unavailable",
      providerStatus: fault.status,
      maybeDelivered: true,
    });
    expect(twilio.requests).toHaveLength(1);
  });

  test("wrong credentials (20003): unavailable, with what to fix in the message", async () => {
    const wrong = await createSmsSender({
      provider: "twilio",
      accountSid: twilio.accountSid,
      authToken: "not-the-token",
      from: FROM,
      messagingServiceSid: null,
      apiUrl: twilio.url,
    });
    const err = await failure(wrong.send({ id: "c7", to: TO, body: "x" }));
    expect(err).toMatchObject({ reason: "unavailable", providerStatus: 401, providerCode: 20003, maybeDelivered: false });
    expect(err.message).not.toContain("not-the-token");
  });

  test("a timeout: unavailable within the limit, and the message may still arrive", async () => {
    twilio.stallNext(5000);
    const started = Date.now();
    const err = await failure(sender.send({ id: "c8", to: TO, body: "x" }));
    expect(Date.now() - started).toBeLessThan(4500);
    expect(err).toMatchObject({ reason: "unavailable", maybeDelivered: true });
  });

  test("nothing listening: unavailable, certainly not delivered", async () => {
    const port = await freePort();
    const nowhere = await createSmsSender({
      provider: "twilio",
      accountSid: twilio.accountSid,
      authToken: twilio.authToken,
      from: FROM,
      messagingServiceSid: null,
      apiUrl: `http://127.0.0.1:${port}`,
    });
    expect(await failure(nowhere.send({ id: "c9", to: TO, body: "x" }))).toMatchObject({
      reason: "unavailable",
      maybeDelivered: false,
      providerStatus: null,
    });
  });
});

describe("the outbox folder (embedded default)", () => {
  test("one JSON file per message, readable by its owner only", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shop-sms-outbox-"));
    try {
      const outbox = await createSmsSender({ provider: "outbox", outboxDir: path.join(dir, "sms") });
      const receipt = await outbox.send({ id: "abc/../x", to: TO, body: "111222 is your code" });
      expect(receipt.status).toBe("written");
      const files = fs.readdirSync(path.join(dir, "sms"));
      expect(files).toEqual([receipt.messageId]);
      expect(files[0]).toMatch(/^[\dT-]+Z-abc_.._x\.json$/);
      const file = path.join(dir, "sms", files[0]!);
      expect(JSON.parse(fs.readFileSync(file, "utf8"))).toEqual({
        id: "abc/../x",
        to: TO,
        body: "111222 is your code",
        at: expect.any(String),
      });
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

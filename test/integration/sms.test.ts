/**
 * SMS as a second factor over HTTP, on PostgreSQL, with SMS_PROVIDER=twilio: the official SDK
 * sends to the local stand-in of Twilio's REST API (test/support/twilio.ts), where each test
 * reads the code a phone would show. Enrolment, sign-in, disabling; codes six digits,
 * short-lived, single use, stored hashed, few tries; sends limited per account, number and
 * IP; Twilio's refusals and outages as clear 4xx and 503, with nothing lost.
 */
import { randomUUID } from "node:crypto";
import jwt from "jsonwebtoken";
import { QueryTypes, type Sequelize } from "sequelize";
import { describeWithServers } from "../support/servers.ts";
import { startTestShop, type TestNode } from "../support/node.ts";
import { shopClient, PASSWORD, uniqueEmail } from "../support/shop-client.ts";
import { startTwilioStandIn, TWILIO_ERRORS, type TwilioStandIn } from "../support/twilio.ts";
import { textablePhoneNumber } from "../../domain/phone-numbers.ts";
import { totpCode } from "../../integrations/authentication/index.ts";

const suite = await describeWithServers("postgres");
const LIMITS = { account: 3, number: 4, ip: 8, attempts: 3 };

suite("SMS second factor (Twilio)", () => {
  let node: TestNode & { databaseUrl: string };
  let twilio: TwilioStandIn;
  let db: Sequelize;
  const bodies: string[] = [];
  const events: { event: string; payload: any }[] = [];

  /** Every response is kept, so the last test can check none carried a secret. */
  const { http, as } = shopClient(() => node, { onResponse: (res) => bodies.push(JSON.stringify(res.body)) });
  const post = (path: string, json: unknown, token?: string) => http(path, { method: "POST", json, headers: token ? as(token) : {} });
  /** Another address each time: these tests are not about the limits of registration and sign-in. */
  const otherIp = () => `10.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`;

  /** A new account, signed in (through the broker: these tests are not about registration). */
  async function account(name = "Sam") {
    const email = uniqueEmail(name);
    const user = await node.broker.call<any, any>("users.register", { email, password: PASSWORD, name }, { meta: { ip: otherIp() } });
    const tokens = await node.broker.call<any, any>("users.login", { email, password: PASSWORD }, { meta: { ip: otherIp() } });
    return { id: user.id as string, email, token: tokens.accessToken as string };
  }

  /** A German mobile number nobody else in this run uses. */
  function mobile(): string {
    for (;;) {
      const candidate = `+49151${String(Math.floor(Math.random() * 1e8)).padStart(8, "0")}`;
      if (textablePhoneNumber(candidate).ok) return candidate;
    }
  }

  /** An account with SMS on (and its recovery codes). */
  async function enrolled(name = "Sam") {
    const user = await account(name);
    const phone = mobile();
    expect((await post("/auth/2fa/sms/enrol", { phoneNumber: phone }, user.token)).status).toBe(202);
    const confirmed = await post("/auth/2fa/sms/confirm", { code: twilio.lastCode(phone) }, user.token);
    expect(confirmed.status).toBe(200);
    return { ...user, phone, recoveryCodes: confirmed.body.recoveryCodes as string[] };
  }

  async function mfaStep(email: string) {
    const res = await post("/auth/login", { email, password: PASSWORD });
    expect(res.body).toMatchObject({ mfaRequired: true });
    return res.body.mfaToken as string;
  }

  const smsRows = (userId: string) =>
    db.query<{ purpose: string; codeHash: string; attempts: number; usedAt: Date | null; messageId: string | null; phoneNumber: string }>(
      `SELECT * FROM sms_codes WHERE "userId" = :userId ORDER BY "createdAt"`,
      { replacements: { userId }, type: QueryTypes.SELECT },
    );
  let resetIpBudget: () => Promise<void>;

  beforeAll(async () => {
    twilio = await startTwilioStandIn();
    node = await startTestShop("sms", {
      CACHER: "memory",
      RATE_LIMIT_STORE: "memory",
      // As behind a proxy on this machine: X-Forwarded-For says who the client is (127.0.0.1 without it).
      TRUST_PROXY: "loopback",
      SMS_PROVIDER: "twilio",
      TWILIO_ACCOUNT_SID: twilio.accountSid,
      TWILIO_AUTH_TOKEN: twilio.authToken,
      TWILIO_FROM: "+15005550006",
      TWILIO_API_URL: twilio.url,
      SMS_SENDS_PER_ACCOUNT: String(LIMITS.account),
      SMS_SENDS_PER_NUMBER: String(LIMITS.number),
      SMS_SENDS_PER_IP: String(LIMITS.ip),
      SMS_CODE_ATTEMPTS: String(LIMITS.attempts),
    });
    db = (node.broker.getLocalService("users") as any).adapter.db;
    // Imported once the node has read its configuration (support/node.ts).
    const { smsLimits } = await import("../../services/users/sms.actions.ts");
    resetIpBudget = () => smsLimits(node.broker.getLocalService("users")!).ip.reset("127.0.0.1");
    node.broker.createService({
      name: "listener",
      events: {
        "user.*"(ctx: any) {
          events.push({ event: ctx.eventName, payload: ctx.params });
        },
      },
    });
    await node.broker.waitForServices(["listener"]);
  });
  afterEach(() => resetIpBudget?.());
  afterAll(async () => {
    await node?.stop();
    await twilio?.close();
  });

  test("enrolment: mobile numbers only; a 6-digit code by SMS, stored hashed; the code turns SMS on with recovery codes", async () => {
    const user = await account("Enrol");
    const before = twilio.messages.length;
    for (const [phoneNumber, why] of [
      ["0151 12345678", /international format/],
      ["+4930123456", /mobile/], // a Berlin landline
      ["+4918012345678", /mobile/], // shared cost
      ["+19005550123", /mobile/], // premium rate: SMS pumping's favourite
      ["+4915", /numbering plan/],
    ] as const) {
      const res = await post("/auth/2fa/sms/enrol", { phoneNumber }, user.token);
      expect(res.status).toBe(422);
      expect(res.body.data).toEqual([expect.objectContaining({ field: "phoneNumber", message: expect.stringMatching(why) })]);
    }
    expect(twilio.messages.length).toBe(before);

    const phone = mobile();
    const spaced = `${phone.slice(0, 3)} ${phone.slice(3, 6)} ${phone.slice(6)}`;
    const sent = await post("/auth/2fa/sms/enrol", { phoneNumber: spaced }, user.token);
    expect(sent).toMatchObject({
      status: 202,
      body: { sent: true, phoneNumber: `+${"•".repeat(phone.length - 3)}${phone.slice(-2)}`, expiresIn: 300 },
    });
    const message = twilio.messages.at(-1)!;
    expect(message).toMatchObject({ to: phone, from: "+15005550006" });
    const code = twilio.lastCode(phone)!;
    expect(message.body).toMatch(/^\d{6} is your Moleculer Shop code to confirm this number\. It expires in 5 minutes\./);

    const [row] = await smsRows(user.id);
    expect(row).toMatchObject({ purpose: "enrol", phoneNumber: phone, attempts: 0, usedAt: null, messageId: message.sid });
    expect(row!.codeHash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(row)).not.toContain(code);

    const wrong = code === "000000" ? "111111" : "000000";
    expect(await post("/auth/2fa/sms/confirm", { code: wrong }, user.token)).toMatchObject({
      status: 422,
      body: { data: [{ field: "code" }] },
    });
    const confirmed = await post("/auth/2fa/sms/confirm", { code: `${code.slice(0, 3)} ${code.slice(3)}` }, user.token);
    expect(confirmed).toMatchObject({ status: 200, body: { enabled: true, phoneNumber: sent.body.phoneNumber } });
    expect(confirmed.body.recoveryCodes).toHaveLength(10);
    expect((await http("/users/me", { headers: as(user.token) })).body.twoFactorEnabled).toBe(true);
    expect((await http("/auth/2fa", { headers: as(user.token) })).body).toEqual({
      enabled: true,
      totp: false,
      sms: { phoneNumber: sent.body.phoneNumber },
      recoveryCodesLeft: 10,
    });
    expect(events.find((e) => e.event === "user.2fa-enabled" && e.payload.user.id === user.id)?.payload).toMatchObject({ method: "sms" });
    expect(await post("/auth/2fa/sms/enrol", { phoneNumber: mobile() }, user.token)).toMatchObject({
      status: 409,
      body: { type: "SMS_ALREADY_ENABLED" },
    });
  });

  test("sign-in: login names the methods; the SMS code signs in once; a recovery code works instead", async () => {
    const user = await enrolled("Login");
    const first = await post("/auth/login", { email: user.email, password: PASSWORD });
    expect(first).toMatchObject({
      status: 200,
      body: {
        mfaRequired: true,
        mfaToken: expect.any(String),
        methods: ["sms", "recovery"],
        smsPhoneNumber: expect.stringMatching(/^\+•+\d\d$/),
      },
    });
    // No authenticator on this account: a 6-digit code is not a TOTP code.
    expect((await post("/auth/login/totp", { mfaToken: first.body.mfaToken, code: "123456" })).status).toBe(401);
    expect(await post("/auth/login/sms/send", { mfaToken: first.body.mfaToken })).toMatchObject({ status: 202, body: { sent: true } });
    const message = twilio.messages.at(-1)!;
    expect(message.body).toMatch(/code to sign in/);
    const code = twilio.lastCode(user.phone)!;
    const client = { "x-forwarded-for": "198.51.100.23" };
    const signedIn = await http("/auth/login/sms", { method: "POST", headers: client, json: { mfaToken: first.body.mfaToken, code } });
    expect(signedIn).toMatchObject({ status: 200, body: { tokenType: "Bearer", accessToken: expect.any(String) } });
    expect((await http("/users/me", { headers: as(signedIn.body.accessToken) })).status).toBe(200);
    // Signed in as every sign-in is: a device cookie, a session (its id in the token) recorded with the
    // client's address behind the trusted proxy, and that address one the account now knows.
    expect(signedIn.headers.get("set-cookie")).toMatch(/^shop_device=[^;]+; Path=\/api; Max-Age=\d+; HttpOnly; SameSite=Strict$/);
    const { sid } = jwt.decode(signedIn.body.accessToken) as { sid: string };
    const sessions = await db.query(`SELECT "userId", ip FROM user_sessions WHERE id = :sid`, {
      replacements: { sid },
      type: QueryTypes.SELECT,
    });
    expect(sessions).toEqual([{ userId: user.id, ip: "198.51.100.23" }]);
    const users = node.broker.getLocalService("users") as unknown as { knownAddresses: { has(key: string): Promise<boolean> } };
    expect(await users.knownAddresses.has(`${user.id}|198.51.100.23`)).toBe(true);
    // The step and the code are used up.
    expect(await post("/auth/login/sms", { mfaToken: first.body.mfaToken, code })).toMatchObject({
      status: 401,
      body: { type: "INVALID_MFA_TOKEN" },
    });
    const again = await mfaStep(user.email);
    expect(await post("/auth/login/sms", { mfaToken: again, code })).toMatchObject({ status: 401, body: { type: "INVALID_SMS_CODE" } });
    expect((await post("/auth/login/totp", { mfaToken: again, code: user.recoveryCodes[0] })).status).toBe(200);
    expect(await post("/auth/login/sms/send", { mfaToken: "not-a-real-token-value" })).toMatchObject({
      status: 401,
      body: { type: "INVALID_MFA_TOKEN" },
    });
  });

  test("a code is short-lived: past its time it is refused", async () => {
    const user = await enrolled("Late");
    const mfaToken = await mfaStep(user.email);
    await post("/auth/login/sms/send", { mfaToken });
    await db.query(`UPDATE sms_codes SET "expiresAt" = NOW() - INTERVAL '1 second' WHERE "userId" = :id AND purpose = 'login'`, {
      replacements: { id: user.id },
    });
    const res = await post("/auth/login/sms", { mfaToken, code: twilio.lastCode(user.phone) });
    expect(res).toMatchObject({ status: 401, body: { type: "INVALID_SMS_CODE", message: expect.stringMatching(/expired/) } });
  });

  test("a new code replaces the previous one", async () => {
    const user = await enrolled("Twice");
    const mfaToken = await mfaStep(user.email);
    await post("/auth/login/sms/send", { mfaToken });
    const firstCode = twilio.lastCode(user.phone)!;
    await post("/auth/login/sms/send", { mfaToken });
    const secondCode = twilio.lastCode(user.phone)!;
    if (firstCode !== secondCode) expect((await post("/auth/login/sms", { mfaToken, code: firstCode })).status).toBe(401);
    expect((await post("/auth/login/sms", { mfaToken, code: secondCode })).status).toBe(200);
  });

  test(`tries are limited: after ${LIMITS.attempts} wrong codes even the right one is refused`, async () => {
    const user = await enrolled("Guess");
    const mfaToken = await mfaStep(user.email);
    await post("/auth/login/sms/send", { mfaToken });
    const code = twilio.lastCode(user.phone)!;
    const wrong = (i: number) => String((Number(code) + 1 + i) % 1e6).padStart(6, "0");
    for (let i = 0; i < LIMITS.attempts; i++) expect((await post("/auth/login/sms", { mfaToken, code: wrong(i) })).status).toBe(401);
    expect(await post("/auth/login/sms", { mfaToken, code })).toMatchObject({
      status: 401,
      body: { message: expect.stringMatching(/Too many wrong codes/) },
    });
    expect((await smsRows(user.id)).find((r) => r.purpose === "login")).toMatchObject({ attempts: LIMITS.attempts, usedAt: null });
  });

  test(`sends are limited per account (${LIMITS.account} an hour): then 429 with Retry-After`, async () => {
    const user = await account("Busy");
    for (let i = 0; i < LIMITS.account; i++)
      expect((await post("/auth/2fa/sms/enrol", { phoneNumber: mobile() }, user.token)).status).toBe(202);
    const refused = await post("/auth/2fa/sms/enrol", { phoneNumber: mobile() }, user.token);
    expect(refused).toMatchObject({ status: 429, body: { type: "TOO_MANY_REQUESTS" } });
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(60);
  });

  test(`sends are limited per number (${LIMITS.number} an hour), whichever account asks`, async () => {
    const phone = mobile();
    const sent = twilio.messages.length;
    const results: number[] = [];
    for (let i = 0; i < LIMITS.number + 1; i++) {
      const user = await account("Pump");
      results.push((await post("/auth/2fa/sms/enrol", { phoneNumber: phone }, user.token)).status);
    }
    expect(results).toEqual([...Array(LIMITS.number).fill(202), 429]);
    expect(twilio.messages.length - sent).toBe(LIMITS.number);
  });

  test(`sends are limited per client IP (${LIMITS.ip} an hour), whichever account and number`, async () => {
    await resetIpBudget();
    const results: number[] = [];
    for (let i = 0; i < LIMITS.ip + 1; i++) {
      const user = await account("Farm");
      results.push((await post("/auth/2fa/sms/enrol", { phoneNumber: mobile() }, user.token)).status);
    }
    expect(results).toEqual([...Array(LIMITS.ip).fill(202), 429]);
  });

  test("sends per client IP follow TRUST_PROXY: clients behind it count apart, own entries ignored, an IPv6 /64 is one", async () => {
    const enrolFrom = async (forwardedFor: string) => {
      const user = await account("Proxy");
      const res = await http("/auth/2fa/sms/enrol", {
        method: "POST",
        headers: { ...as(user.token), "x-forwarded-for": forwardedFor },
        json: { phoneNumber: mobile() },
      });
      return res.status;
    };
    const statuses: number[] = [];
    for (let i = 0; i < LIMITS.ip + 1; i++) statuses.push(await enrolFrom("203.0.113.7"));
    expect(statuses).toEqual([...Array(LIMITS.ip).fill(202), 429]);
    // A spoofed entry of the client's own does not make it someone else; another client behind the proxy has its whole budget.
    expect(await enrolFrom("198.51.100.1, 203.0.113.7")).toBe(429);
    expect(await enrolFrom("203.0.113.8")).toBe(202);
    const v6: number[] = [];
    for (let i = 1; i <= LIMITS.ip; i++) v6.push(await enrolFrom(`2001:db8:5:6::${i.toString(16)}`));
    expect(v6).toEqual(Array(LIMITS.ip).fill(202));
    expect(await enrolFrom("2001:db8:5:6:ffff::1")).toBe(429);
    expect(await enrolFrom("2001:db8:5:7::1")).toBe(202);
  });

  test("a good code gives the second-factor budget back: confirming, then disabling, each after two wrong codes", async () => {
    // The budget is 5 tries in 5 minutes; without the give-back the sixth try here would be a 429.
    const user = await account("Budget");
    const phone = mobile();
    expect((await post("/auth/2fa/sms/enrol", { phoneNumber: phone }, user.token)).status).toBe(202);
    const code = twilio.lastCode(phone)!;
    const wrong = (c: string, i: number) => String((Number(c) + 1 + i) % 1e6).padStart(6, "0");
    for (let i = 0; i < 2; i++) expect((await post("/auth/2fa/sms/confirm", { code: wrong(code, i) }, user.token)).status).toBe(422);
    expect((await post("/auth/2fa/sms/confirm", { code }, user.token)).status).toBe(200);
    expect((await post("/auth/2fa/sms/send", {}, user.token)).status).toBe(202);
    const verify = twilio.lastCode(phone)!;
    for (let i = 0; i < 2; i++) {
      expect((await post("/auth/2fa/sms/disable", { password: PASSWORD, code: wrong(verify, i) }, user.token)).status).toBe(422);
    }
    expect(await post("/auth/2fa/sms/disable", { password: PASSWORD, code: verify }, user.token)).toMatchObject({
      status: 200,
      body: { enabled: false },
    });
  });

  test("a number Twilio refuses is a 422 on phoneNumber, and no code is left waiting", async () => {
    const user = await account("Stop");
    const phone = mobile();
    twilio.refuse(phone, TWILIO_ERRORS.unsubscribed);
    const res = await post("/auth/2fa/sms/enrol", { phoneNumber: phone }, user.token);
    expect(res).toMatchObject({ status: 422, body: { data: [{ field: "phoneNumber", message: expect.stringMatching(/opted out/) }] } });
    expect(await smsRows(user.id)).toEqual([]);
  });

  test("Twilio's 429 is a 503 with Retry-After; the sends are given back and the next try works", async () => {
    const user = await account("Outage");
    const phone = mobile();
    twilio.failNext(TWILIO_ERRORS.tooManyRequests, { times: LIMITS.account });
    for (let i = 0; i < LIMITS.account; i++) {
      const res = await post("/auth/2fa/sms/enrol", { phoneNumber: phone }, user.token);
      expect(res).toMatchObject({ status: 503, body: { type: "SMS_UNAVAILABLE", message: expect.stringMatching(/try again in 30 s/) } });
      expect(res.headers.get("retry-after")).toBe("30");
    }
    expect(await smsRows(user.id)).toEqual([]);
    // Nothing was spent on the outage: the account still has all its sends.
    for (let i = 0; i < LIMITS.account; i++)
      expect((await post("/auth/2fa/sms/enrol", { phoneNumber: phone }, user.token)).status).toBe(202);
    expect((await post("/auth/2fa/sms/confirm", { code: twilio.lastCode(phone) }, user.token)).status).toBe(200);
  });

  test("Twilio failing after accepting (500) is a 503, and the code that went out still works", async () => {
    const user = await enrolled("Flaky");
    const mfaToken = await mfaStep(user.email);
    twilio.failNext(TWILIO_ERRORS.internal, { afterAccept: true });
    expect(await post("/auth/login/sms/send", { mfaToken })).toMatchObject({ status: 503, body: { type: "SMS_UNAVAILABLE" } });
    expect((await post("/auth/login/sms", { mfaToken, code: twilio.lastCode(user.phone) })).status).toBe(200);
  });

  test("a number on file that stopped taking messages: 409 at sign-in, a recovery code still gets in", async () => {
    const user = await enrolled("Gone");
    twilio.refuse(user.phone, TWILIO_ERRORS.unsubscribed);
    const mfaToken = await mfaStep(user.email);
    expect(await post("/auth/login/sms/send", { mfaToken })).toMatchObject({ status: 409, body: { type: "SMS_UNDELIVERABLE" } });
    expect((await post("/auth/login/totp", { mfaToken, code: user.recoveryCodes[1] })).status).toBe(200);
  });

  test("disable: the password and an SMS code; then sign-in has no second step and the recovery codes are gone", async () => {
    const user = await enrolled("Off");
    expect(await post("/auth/2fa/sms/disable", { password: PASSWORD, code: "123456" }, user.token)).toMatchObject({
      status: 422,
      body: { data: [{ field: "code" }] },
    });
    expect((await post("/auth/2fa/sms/send", {}, user.token)).status).toBe(202);
    expect(twilio.messages.at(-1)!.body).toMatch(/to confirm it is you/);
    const code = twilio.lastCode(user.phone)!;
    expect(await post("/auth/2fa/sms/disable", { password: "wrong password here", code }, user.token)).toMatchObject({
      status: 422,
      body: { data: [{ field: "password" }] },
    });
    expect(await post("/auth/2fa/sms/disable", { password: PASSWORD, code }, user.token)).toMatchObject({
      status: 200,
      body: { enabled: false },
    });
    expect(await post("/auth/login", { email: user.email, password: PASSWORD })).toMatchObject({
      status: 200,
      body: { tokenType: "Bearer" },
    });
    expect((await http("/auth/2fa", { headers: as(user.token) })).body).toEqual({
      enabled: false,
      totp: false,
      sms: null,
      recoveryCodesLeft: 0,
    });
    expect(await smsRows(user.id)).toEqual([]);
    expect(await post("/auth/2fa/sms/send", {}, user.token)).toMatchObject({ status: 409, body: { type: "SMS_NOT_ENABLED" } });
  });

  test("TOTP and SMS together: both offered; turning TOTP off keeps SMS and the recovery codes", async () => {
    const user = await enrolled("Both");
    const setup = await post("/auth/2fa/setup", {}, user.token);
    expect((await post("/auth/2fa/enable", { code: totpCode(setup.body.secret, Date.now() - 30_000) }, user.token)).status).toBe(200);
    const step = await post("/auth/login", { email: user.email, password: PASSWORD });
    expect(step.body.methods).toEqual(["totp", "sms", "recovery"]);
    expect((await post("/auth/2fa/disable", { password: PASSWORD, code: totpCode(setup.body.secret) }, user.token)).status).toBe(200);
    expect((await http("/auth/2fa", { headers: as(user.token) })).body).toMatchObject({
      enabled: true,
      totp: false,
      sms: { phoneNumber: expect.any(String) },
      recoveryCodesLeft: 10,
    });
    expect((await post("/auth/login", { email: user.email, password: PASSWORD })).body.methods).toEqual(["sms", "recovery"]);
  });

  test("a removed account's codes go with it", async () => {
    const user = await enrolled("Removed");
    const root = await node.broker.call<any, any>("users.createSuperuser", {
      email: `root-${randomUUID().slice(0, 6)}@example.com`,
      password: PASSWORD,
      name: "Root",
    });
    const rootToken = (
      await node.broker.call<any, any>("users.login", { email: root.email, password: PASSWORD }, { meta: { ip: otherIp() } })
    ).accessToken;
    expect((await smsRows(user.id)).length).toBeGreaterThan(0);
    expect((await http(`/users/${user.id}`, { method: "DELETE", headers: as(rootToken) })).status).toBe(204);
    expect(await smsRows(user.id)).toEqual([]);
  });

  test("no response carried a code's hash, a full phone number or Twilio's credentials", () => {
    expect(bodies.length).toBeGreaterThan(50);
    const numbers = [...new Set(twilio.messages.map((m) => m.to))];
    for (const body of bodies) {
      expect(body).not.toMatch(/codeHash|"[0-9a-f]{64}"/);
      expect(body).not.toContain(twilio.authToken);
      for (const n of numbers) expect(body).not.toContain(n);
    }
  });

  test("the OpenAPI document: sends answer 202 (or 429, 503), the second step and the status are there", async () => {
    const doc = (await http("/openapi.json")).body;
    for (const path of ["/api/auth/2fa/sms/enrol", "/api/auth/2fa/sms/send", "/api/auth/login/sms/send"]) {
      const op = doc.paths[path].post;
      expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(["202", "429", "503"]));
      expect(op.responses["200"]).toBeUndefined();
    }
    expect(doc.paths["/api/auth/login/sms"].post.requestBody.content["application/json"].schema.required).toEqual(["mfaToken", "code"]);
    expect(doc.paths["/api/auth/login/sms"].post.security).toEqual([]);
    expect(doc.paths["/api/auth/2fa"].get.operationId).toBe("users.twoFactorStatus");
  });
});

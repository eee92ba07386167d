/** SMS_* / TWILIO_* and OIDC_* settings (lib/config.ts: loadSms, loadOidc). */
import { loadConfig, ConfigError } from "../../lib/config.ts";

const SID = `AC${"0123456789abcdef".repeat(2)}`;
const TWILIO = { SMS_PROVIDER: "twilio", TWILIO_ACCOUNT_SID: SID, TWILIO_AUTH_TOKEN: "a-very-secret-token", TWILIO_FROM: "+15005550006" };

describe("SMS", () => {
  test("defaults: the outbox folder, 5-minute codes, 5 tries, sends per hour 5/5/20, every country", () => {
    expect(loadConfig({}).sms).toEqual({
      provider: "outbox",
      outboxDir: "data/sms-outbox",
      twilio: null,
      countries: [],
      codeTtlSec: 300,
      maxAttempts: 5,
      sendsPerHour: { account: 5, number: 5, ip: 20 },
    });
  });

  test("Twilio with a sender number, or with a Messaging Service; TWILIO_API_URL moves the API", () => {
    expect(loadConfig(TWILIO).sms.twilio).toEqual({
      accountSid: SID,
      authToken: "a-very-secret-token",
      from: "+15005550006",
      messagingServiceSid: null,
      apiUrl: null,
    });
    const service = `MG${"a".repeat(32)}`;
    const viaService = loadConfig({
      ...TWILIO,
      TWILIO_FROM: "",
      TWILIO_MESSAGING_SERVICE_SID: service,
      TWILIO_API_URL: "http://127.0.0.1:4010",
    });
    expect(viaService.sms.twilio).toMatchObject({ from: null, messagingServiceSid: service, apiUrl: "http://127.0.0.1:4010" });
    expect(loadConfig({ ...TWILIO, TWILIO_FROM: "MyShop" }).sms.twilio?.from).toBe("MyShop");
  });

  test.each([
    [{ TWILIO_ACCOUNT_SID: "" }, /^TWILIO_ACCOUNT_SID must be the account's SID/],
    [{ TWILIO_ACCOUNT_SID: "SK0123" }, /^TWILIO_ACCOUNT_SID must be/],
    [{ TWILIO_AUTH_TOKEN: "" }, /^TWILIO_AUTH_TOKEN is required/],
    [{ TWILIO_FROM: "" }, /exactly one sender: TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID/],
    [{ TWILIO_MESSAGING_SERVICE_SID: `MG${"a".repeat(32)}` }, /exactly one sender/],
    [{ TWILIO_FROM: "0151 1234" }, /^TWILIO_FROM must be an E.164 number/],
    [{ TWILIO_FROM: "", TWILIO_MESSAGING_SERVICE_SID: "MG1" }, /^TWILIO_MESSAGING_SERVICE_SID must be MG and 32 hex digits/],
    [{ TWILIO_API_URL: "ftp://x" }, /^TWILIO_API_URL must use http:\/\/ or https:\/\//],
  ])("SMS_PROVIDER=twilio with %j is refused", (override, message) => {
    expect(() => loadConfig({ ...TWILIO, ...override })).toThrow(ConfigError);
    expect(() => loadConfig({ ...TWILIO, ...override })).toThrow(message);
  });

  test("Twilio settings without SMS_PROVIDER=twilio are refused (the codes would stay in the outbox folder)", () => {
    expect(() => loadConfig({ TWILIO_ACCOUNT_SID: SID })).toThrow(/^TWILIO_ACCOUNT_SID is set but SMS_PROVIDER is outbox/);
    expect(() => loadConfig({ SMS_PROVIDER: "outbox", TWILIO_FROM: "+15005550006" })).toThrow(
      /^TWILIO_FROM is set but SMS_PROVIDER is outbox/,
    );
  });

  test("the auth token never appears in an error", () => {
    try {
      loadConfig({ ...TWILIO, TWILIO_FROM: "not a sender!" });
      throw new Error("expected a ConfigError");
    } catch (err) {
      expect((err as Error).message).not.toContain("a-very-secret-token");
    }
  });

  test("limits, lifetimes and countries", () => {
    const sms = loadConfig({
      SMS_COUNTRIES: "de, fr,GB",
      SMS_CODE_TTL: "120",
      SMS_CODE_ATTEMPTS: "3",
      SMS_SENDS_PER_ACCOUNT: "2",
      SMS_SENDS_PER_NUMBER: "3",
      SMS_SENDS_PER_IP: "50",
    }).sms;
    expect(sms).toMatchObject({
      countries: ["DE", "FR", "GB"],
      codeTtlSec: 120,
      maxAttempts: 3,
      sendsPerHour: { account: 2, number: 3, ip: 50 },
    });
    expect(() => loadConfig({ SMS_COUNTRIES: "Germany" })).toThrow(/^SMS_COUNTRIES must be comma-separated ISO 3166-1 alpha-2 codes/);
    expect(() => loadConfig({ SMS_CODE_TTL: "30" })).toThrow(/^SMS_CODE_TTL must be an integer from 60 to 900/);
    expect(() => loadConfig({ SMS_PROVIDER: "carrier-pigeon" })).toThrow(/^SMS_PROVIDER must be one of outbox, twilio/);
  });
});

describe("OpenID Connect providers", () => {
  const GOOGLE = {
    OIDC_PROVIDERS: "google",
    OIDC_GOOGLE_ISSUER: "https://accounts.google.com",
    OIDC_GOOGLE_CLIENT_ID: "id-1",
    OIDC_GOOGLE_CLIENT_SECRET: "s-1",
  };

  test("none by default", () => {
    expect(loadConfig({}).oidc).toEqual({ providers: [] });
  });

  test("several providers, each from its own variables; the redirect URI from APP_URL or OIDC_REDIRECT_BASE_URL", () => {
    const cfg = loadConfig({
      ...GOOGLE,
      OIDC_PROVIDERS: "google, corp-sso",
      APP_URL: "https://shop.example",
      OIDC_CORP_SSO_ISSUER: "http://localhost:8080/realms/shop",
      OIDC_CORP_SSO_CLIENT_ID: "shop",
      OIDC_CORP_SSO_SCOPES: "openid email",
      OIDC_CORP_SSO_NAME: "Corporate sign-in",
    });
    expect(cfg.oidc.providers).toEqual([
      {
        id: "google",
        name: "Google",
        issuer: "https://accounts.google.com",
        clientId: "id-1",
        clientSecret: "s-1",
        scopes: ["openid", "email", "profile"],
        redirectUri: "https://shop.example/api/auth/oidc/google/callback",
      },
      {
        id: "corp-sso",
        name: "Corporate sign-in",
        issuer: "http://localhost:8080/realms/shop",
        clientId: "shop",
        clientSecret: null,
        scopes: ["openid", "email"],
        redirectUri: "https://shop.example/api/auth/oidc/corp-sso/callback",
      },
    ]);
    expect(
      loadConfig({ ...GOOGLE, OIDC_REDIRECT_BASE_URL: "https://api.shop.example/api/auth/oidc/" }).oidc.providers[0]!.redirectUri,
    ).toBe("https://api.shop.example/api/auth/oidc/google/callback");
  });

  test.each([
    [{ OIDC_PROVIDERS: "Google" }, /^OIDC_PROVIDERS must be distinct ids/],
    [{ OIDC_PROVIDERS: "google,google" }, /^OIDC_PROVIDERS must be distinct ids/],
    [{ OIDC_GOOGLE_ISSUER: "" }, /^OIDC_GOOGLE_ISSUER is required/],
    [{ OIDC_GOOGLE_ISSUER: "http://idp.example" }, /^OIDC_GOOGLE_ISSUER must use https:\/\/ \(http:\/\/ only on localhost\)/],
    [{ OIDC_GOOGLE_CLIENT_ID: "" }, /^OIDC_GOOGLE_CLIENT_ID is required/],
    [{ OIDC_GOOGLE_SCOPES: "openid profile" }, /^OIDC_GOOGLE_SCOPES must include openid and email/],
  ])("%j is refused", (override, message) => {
    expect(() => loadConfig({ ...GOOGLE, ...override })).toThrow(message);
  });
});

/**
 * A tour of the whole REST API of a running node, as a client would take it: every route that
 * answers JSON on success is called at least once along a believable story (accounts, two-factor,
 * products and images, files, avatars, checkout and lifecycle, API clients, OAuth, administration,
 * mail dead letters, password reset, logout, the SMS second factor, sign-in with an OpenID
 * provider). Each successful JSON answer is kept with the operation it came from ("post
 * /api/products"), for test/integration/openapi-contract.test.ts to check against the OpenAPI
 * document's response schemas.
 *
 * The node must run every service in one process (startTestShop): the tour listens to the
 * account events for the e-mail tokens, puts one dead letter in the mail table, and reads SMS
 * codes from the outbox folder (SMS_PROVIDER=outbox, the default). With `oidc`, the node has that
 * OpenID provider configured, and `signIn` takes the browser through the provider's pages.
 */
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import speakeasy from "speakeasy";
import type { ServiceBroker } from "moleculer";
import { http } from "./node.ts";
import { ADDRESS, PASSWORD } from "./shop-client.ts";
import { Browser } from "./browser.ts";
import { getConfig } from "../../lib/config.ts";
import { until } from "../../scripts/support/until.ts";
import { textablePhoneNumber } from "../../domain/phone-numbers.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const PNG = fs.readFileSync(path.join(ROOT, "docs/postman/fixtures/mug.png"));

export interface Capture {
  /** "post /api/products/{id}/images": the operation, as in the document's paths. */
  operation: string;
  status: number;
  /** The media type of the body ("application/json"), or null without one. */
  contentType: string | null;
  /** The parsed JSON body; null for anything else. */
  body: unknown;
}

/** Calls that do not answer 2xx stop the tour with what they said. */
class TourError extends Error {}

/**
 * An OpenID provider configured on the node: its id, and how a person signs in there (from the
 * provider's page to the callback URL the provider sends the browser to).
 */
export interface TourOidc {
  provider: string;
  signIn(browser: Browser, providerPage: URL): Promise<URL>;
}

export async function tourTheApi(api: string, broker: ServiceBroker, options: { oidc?: TourOidc } = {}): Promise<Capture[]> {
  const captures: Capture[] = [];
  const base = new URL(api).pathname; // "/api"
  const tokens: Record<string, string> = {};
  await broker.createService({
    name: "tour-mailbox",
    events: {
      "user.registered"(ctx: { params: { user: { email: string }; verificationToken: string } }) {
        tokens[`verify:${ctx.params.user.email}`] = ctx.params.verificationToken;
      },
      "user.password-reset-requested"(ctx: { params: { user: { email: string }; resetToken: string } }) {
        tokens[`reset:${ctx.params.user.email}`] = ctx.params.resetToken;
      },
    },
  } as never);

  /** `template` is the document's path without the base ("/products/{id}"); `values` fill it. */
  async function call(
    method: string,
    template: string,
    opts: {
      values?: Record<string, string>;
      json?: unknown;
      token?: string;
      headers?: Record<string, string>;
      body?: RequestInit["body"];
    } = {},
  ) {
    const pathname = template.replace(/\{(\w+)\}/g, (_m, name: string) => encodeURIComponent(opts.values?.[name] ?? ""));
    const headers = { ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}), ...opts.headers };
    const res = await http(`${api}${pathname}`, {
      method,
      headers,
      ...(opts.json !== undefined ? { json: opts.json } : {}),
      ...(opts.body ? { body: opts.body } : {}),
    });
    if (res.status >= 300) throw new TourError(`${method} ${pathname}: ${res.status} ${JSON.stringify(res.body)}`);
    const contentType = res.headers.get("content-type")?.split(";")[0] ?? null;
    const json = contentType === "application/json";
    captures.push({
      operation: `${method.toLowerCase()} ${base}${template.split("?")[0]}`,
      status: res.status,
      contentType,
      body: json ? res.body : null,
    });
    return res.body;
  }
  const waitFor = async (key: string) => {
    await until(`the ${key} token`, () => !!tokens[key], { timeoutMs: 5000, intervalMs: 50 }).catch(() => {
      throw new TourError(`no ${key} token was sent`);
    });
    return tokens[key]!;
  };
  const totp = (secret: string, offsetSteps = 0) =>
    speakeasy.totp({ secret, encoding: "base32", time: Math.floor(Date.now() / 1000) + offsetSteps * 30 });
  const upload = (token: string, filename: string) => {
    const form = new FormData();
    form.append("file", new Blob([PNG], { type: "image/png" }), filename);
    return call("POST", "/files", { token, body: form }) as Promise<{ id: string }>;
  };

  // The gateway itself.
  await call("GET", "/health/live");
  await call("GET", "/health/ready");
  await call("GET", "/openapi.json");

  // An administrator (the first superuser, as `npm run createsuperuser` makes it).
  const staffEmail = `boss-${randomUUID().slice(0, 6)}@example.com`;
  await broker.call("users.createSuperuser", { email: staffEmail, password: PASSWORD, name: "Boss" });
  const staff = ((await call("POST", "/auth/login", { json: { email: staffEmail, password: PASSWORD } })) as { accessToken: string })
    .accessToken;

  // A shopper: account, e-mail verification, profile.
  const email = `ada-${randomUUID().slice(0, 6)}@example.com`;
  const registered = (await call("POST", "/auth/register", { json: { email, password: PASSWORD, name: "Ada" } })) as { id: string };
  await call("POST", "/auth/verify-email", { json: { token: await waitFor(`verify:${email}`) } });
  let session = (await call("POST", "/auth/login", { json: { email, password: PASSWORD } })) as {
    accessToken: string;
    refreshToken: string;
  };
  await call("GET", "/users/me", { token: session.accessToken });
  await call("PATCH", "/users/me", { token: session.accessToken, json: { name: "Ada Lovelace" } });
  session = (await call("POST", "/auth/refresh", { json: { refreshToken: session.refreshToken } })) as typeof session;

  // Two-factor: set up, enable, sign in with it, new recovery codes, turn it off.
  const setup = (await call("POST", "/auth/2fa/setup", { token: session.accessToken })) as { secret: string };
  const enabled = (await call("POST", "/auth/2fa/enable", { token: session.accessToken, json: { code: totp(setup.secret) } })) as {
    recoveryCodes: string[];
  };
  const challenge = (await call("POST", "/auth/login", { json: { email, password: PASSWORD } })) as { mfaToken: string };
  session = (await call("POST", "/auth/login/totp", {
    json: { mfaToken: challenge.mfaToken, code: enabled.recoveryCodes[0] },
  })) as typeof session;
  // The step after the one that enabled it (each code works once; ±1 step is accepted).
  const fresh = (await call("POST", "/auth/2fa/recovery-codes", { token: session.accessToken, json: { code: totp(setup.secret, 1) } })) as {
    recoveryCodes: string[];
  };
  await call("POST", "/auth/2fa/disable", { token: session.accessToken, json: { password: PASSWORD, code: fresh.recoveryCodes[0] } });

  // SMS as the second factor (codes from the outbox folder): status, enrol, confirm, sign in with it, a code to turn it off.
  const smsCode = (to: string) => {
    const dir = getConfig().sms.outboxDir;
    const files = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith(".json"))
      .sort();
    const sent = files.map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")) as { to: string; body: string });
    const code = sent
      .filter((m) => m.to === to)
      .at(-1)
      ?.body.match(/^(\d{6})/)?.[1];
    if (!code) throw new TourError(`no SMS code was sent to ${to}`);
    return code;
  };
  let phone = "";
  while (!phone) {
    const candidate = `+49151${String(Math.floor(Math.random() * 1e8)).padStart(8, "0")}`;
    if (textablePhoneNumber(candidate).ok) phone = candidate;
  }
  await call("GET", "/auth/2fa", { token: session.accessToken });
  await call("POST", "/auth/2fa/sms/enrol", { token: session.accessToken, json: { phoneNumber: phone } });
  await call("POST", "/auth/2fa/sms/confirm", { token: session.accessToken, json: { code: smsCode(phone) } });
  const smsStep = (await call("POST", "/auth/login", { json: { email, password: PASSWORD } })) as { mfaToken: string };
  await call("POST", "/auth/login/sms/send", { json: { mfaToken: smsStep.mfaToken } });
  session = (await call("POST", "/auth/login/sms", { json: { mfaToken: smsStep.mfaToken, code: smsCode(phone) } })) as typeof session;
  await call("GET", "/auth/2fa", { token: session.accessToken });
  await call("POST", "/auth/2fa/sms/send", { token: session.accessToken });
  await call("POST", "/auth/2fa/sms/disable", { token: session.accessToken, json: { password: PASSWORD, code: smsCode(phone) } });

  // Sign-in with an OpenID provider: the list, the redirect to the provider, its answer (a new account's tokens).
  await call("GET", "/auth/oidc");
  if (options.oidc) {
    const browser = new Browser();
    const start = new URL(`${api}/auth/oidc/${options.oidc.provider}`);
    const redirect = await browser.request(start);
    if (redirect.status !== 302) throw new TourError(`GET ${start.pathname}: ${redirect.status} ${redirect.text}`);
    captures.push({ operation: `get ${base}/auth/oidc/{provider}`, status: 302, contentType: null, body: null });
    const callback = await options.oidc.signIn(browser, new URL(redirect.headers.get("location")!));
    const answer = await browser.request(callback);
    if (answer.status !== 200) throw new TourError(`GET ${callback.pathname}: ${answer.status} ${answer.text}`);
    const contentType = answer.headers.get("content-type")?.split(";")[0] ?? null;
    captures.push({ operation: `get ${base}/auth/oidc/{provider}/callback`, status: 200, contentType, body: JSON.parse(answer.text) });
  }

  // The catalogue: a product, its images.
  const product = (await call("POST", "/products", {
    token: staff,
    json: {
      sku: `MUG-${randomUUID().slice(0, 6)}`,
      name: "Stoneware mug",
      description: "350 ml, dishwasher safe.",
      priceCents: 1490,
      currency: "EUR",
      stock: 20,
    },
  })) as { id: string };
  await call("GET", "/products?search=mug");
  await call("GET", "/products/{id}", { values: { id: product.id } });
  await call("PATCH", "/products/{id}", { token: staff, values: { id: product.id }, json: { stock: 25 } });
  const front = await upload(staff, "mug-front.png");
  const side = await upload(staff, "mug-side.png");
  await call("POST", "/products/{id}/images", { token: staff, values: { id: product.id }, json: { fileId: front.id } });
  await call("POST", "/products/{id}/images", { token: staff, values: { id: product.id }, json: { fileId: side.id } });
  await call("PATCH", "/products/{id}/images", { token: staff, values: { id: product.id }, json: { images: [side.id, front.id] } });
  await call("GET", "/files/{id}", { values: { id: side.id } }); // a product image: public
  await call("DELETE", "/products/{id}/images/{fileId}", { token: staff, values: { id: product.id, fileId: front.id } });
  await call("GET", "/products/{id}", { values: { id: product.id } });

  // Files: a multipart upload, a list, a direct upload (presign, PUT, complete), an avatar.
  const picture = await upload(session.accessToken, "me.png");
  await call("GET", "/files?search=me", { token: session.accessToken });
  const presigned = (await call("POST", "/files/presign", {
    token: session.accessToken,
    json: { filename: "receipt.png", contentType: "image/png", size: PNG.length },
  })) as {
    id: string;
    url: string;
    headers: Record<string, string>;
  };
  // The local store's URL is signed for APP_URL; this node listens on a port of its own.
  const signed = new URL(presigned.url, api);
  await call("PUT", "/files/signed/{token}", {
    values: { token: signed.pathname.split("/").pop()! },
    headers: presigned.headers,
    body: PNG,
  });
  await call("POST", "/files/{id}/complete", { token: session.accessToken, values: { id: presigned.id } });
  await call("PUT", "/users/me/avatar", { token: session.accessToken, json: { fileId: picture.id } });
  await call("DELETE", "/users/me/avatar", { token: session.accessToken });
  await call("DELETE", "/files/{id}", { token: session.accessToken, values: { id: presigned.id } });

  // Checkout (with an Idempotency-Key, replayed), the lifecycle, a cancellation.
  const key = randomUUID();
  const cart = { items: [{ productId: product.id, quantity: 2 }], shippingAddress: ADDRESS };
  const order = (await call("POST", "/orders", { token: session.accessToken, headers: { "idempotency-key": key }, json: cart })) as {
    id: string;
  };
  await call("POST", "/orders", { token: session.accessToken, headers: { "idempotency-key": key }, json: cart });
  await call("GET", "/orders", { token: session.accessToken });
  await call("GET", "/orders/{id}", { token: session.accessToken, values: { id: order.id } });
  await call("PATCH", "/orders/{id}/status", { token: staff, values: { id: order.id }, json: { status: "paid" } });
  await call("PATCH", "/orders/{id}/status", {
    token: staff,
    values: { id: order.id },
    json: { status: "shipped", reason: "DHL 00340434161094042557" },
  });
  const second = (await call("POST", "/orders", {
    token: session.accessToken,
    json: { ...cart, items: [{ productId: product.id, quantity: 1 }] },
  })) as { id: string };
  await call("POST", "/orders/{id}/cancel", { token: session.accessToken, values: { id: second.id }, json: { reason: "Ordered twice." } });
  await call("GET", "/orders?status=cancelled", { token: staff });

  // API clients and the OAuth 2.0 token endpoint.
  const client = (await call("POST", "/clients", { token: staff, json: { name: "Warehouse sync", role: "admin" } })) as {
    id: string;
    clientId: string;
    clientSecret: string;
  };
  await call("GET", "/clients", { token: staff });
  const basic = Buffer.from(`${client.clientId}:${client.clientSecret}`).toString("base64");
  await call("POST", "/auth/token", {
    headers: { authorization: `Basic ${basic}`, "content-type": "application/x-www-form-urlencoded" },
    body: "grant_type=client_credentials",
  });
  await call("POST", "/auth/token", { json: { grant_type: "refresh_token", refresh_token: session.refreshToken } }).then((t) => {
    session = { accessToken: (t as { access_token: string }).access_token, refreshToken: (t as { refresh_token: string }).refresh_token };
  });
  await call("DELETE", "/clients/{id}", { token: staff, values: { id: client.id } });

  // Administration of accounts.
  await call("GET", "/users?search=ada", { token: staff });
  await call("GET", "/users/{id}", { token: staff, values: { id: registered.id } });
  await call("PATCH", "/users/{id}", { token: staff, values: { id: registered.id }, json: { name: "Ada L." } });
  const leaving = `leaving-${randomUUID().slice(0, 6)}@example.com`;
  const gone = (await call("POST", "/auth/register", { json: { email: leaving, password: PASSWORD, name: "Leaving" } })) as { id: string };
  await call("DELETE", "/users/{id}", { token: staff, values: { id: gone.id } });

  // Mail: an e-mail that could not be delivered, listed and sent again.
  const mail = broker.getLocalService("mail") as unknown as { adapter: { model: { create(row: object): Promise<unknown> } } };
  const deadId = `order.created:${randomUUID()}`;
  await mail.adapter.model.create({
    id: deadId,
    event: "order.created",
    template: "order-confirmation",
    recipient: email,
    subject: "Order confirmed",
    status: "dead",
    attempts: 5,
    lastError: "550 mailbox unavailable",
    payload: {},
  });
  await call("GET", "/mail/failed", { token: staff });
  await call("POST", "/mail/failed/{id}/retry", { token: staff, values: { id: deadId } });

  // A forgotten password, reset; then log out.
  await call("POST", "/auth/password/forgot", { json: { email } });
  await call("POST", "/auth/password/reset", { json: { token: await waitFor(`reset:${email}`), password: `${PASSWORD} again` } });
  session = (await call("POST", "/auth/login", { json: { email, password: `${PASSWORD} again` } })) as typeof session;
  await call("POST", "/auth/logout", { token: session.accessToken });

  return captures;
}

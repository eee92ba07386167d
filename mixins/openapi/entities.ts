/**
 * What the API answers on success, as JSON Schema 2020-12 (OpenAPI 3.1): the entities (products,
 * accounts, orders, files, API clients, dead letters), a page of each (`XPage`, typed rows), and
 * the small answers of single actions (tokens, two-factor set-up, health). Each has an example.
 * mixins/openapi/hints.ts names, per action, the schema of its success answer; the generator puts
 * these under `components.schemas`.
 *
 * They say what clients may rely on: fields listed are always there (`required`), nullable ones
 * say so. New fields may appear (no `additionalProperties: false`: clients should ignore what
 * they do not know), but test/integration/openapi-contract.test.ts compiles real answers of a
 * running node against the types openapi-typescript makes from this document, and an answer with
 * a field the schema does not list fails it: the two cannot drift.
 */
import { ROLES } from "../../lib/access.ts";
import type { JsonSchema } from "./schema.ts";

/** The order lifecycle (domain/order-status.ts, which lib/ may not import; a unit test keeps them equal). */
export const ORDER_STATUS_VALUES = ["pending", "paid", "shipped", "delivered", "cancelled"] as const;

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const uuid = { type: "string", format: "uuid" } as const;
const time = { type: "string", format: "date-time", description: "ISO-8601, UTC." } as const;
const nullable = (schema: Record<string, unknown>) => ({ ...schema, type: [schema.type as string, "null"] });
const cents = (description: string) => ({
  type: "integer",
  minimum: 0,
  description: `${description}, in minor units of \`currency\` (cents).`,
});
const currency = { type: "string", pattern: "^[A-Z]{3}$", description: "ISO 4217 code." } as const;

/** An object whose listed properties are all present. */
function object(
  description: string,
  properties: Record<string, unknown>,
  example: Record<string, unknown>,
  optional: string[] = [],
): JsonSchema {
  return {
    type: "object",
    description,
    required: Object.keys(properties).filter((p) => !optional.includes(p)),
    properties,
    examples: [example],
  };
}

const IDS = {
  product: "9b2f6c1e-4d0a-4c55-9a43-0d7c6f1e2a10",
  image: "5f1d2c3b-6a7e-4f80-9b1c-2d3e4f5a6b7c",
  user: "3c9e1a2b-7d4f-4e60-8a1b-2c3d4e5f6a7b",
  admin: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
  order: "7e8f9a0b-1c2d-4e3f-9a4b-5c6d7e8f9a0b",
  file: "2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f6a",
  client: "6b7c8d9e-0f1a-4b2c-8d3e-4f5a6b7c8d9e",
};
const AT = "2026-03-14T09:26:53.589Z";
const LATER = "2026-03-14T10:02:11.204Z";

const product = {
  id: IDS.product,
  sku: "MUG-STONE-350",
  name: "Stoneware mug",
  description: "350 ml, glazed stoneware, dishwasher safe.",
  priceCents: 1490,
  currency: "EUR",
  stock: 42,
  active: true,
  images: [IDS.image],
  imageUrls: [`/api/files/${IDS.image}`],
  createdAt: AT,
  updatedAt: LATER,
};
const user = {
  id: IDS.user,
  email: "ada@example.com",
  name: "Ada Lovelace",
  role: "user",
  active: true,
  emailVerified: true,
  twoFactorEnabled: false,
  avatarFileId: null,
  avatarUrl: null,
  createdAt: AT,
  updatedAt: LATER,
};
const address = { name: "Ada Lovelace", line1: "12 St James's Square", city: "London", postalCode: "SW1Y 4JH", country: "GB" };
const order = {
  id: IDS.order,
  userId: IDS.user,
  status: "paid",
  items: [
    {
      productId: IDS.product,
      sku: "MUG-STONE-350",
      name: "Stoneware mug",
      unitPriceCents: 1490,
      currency: "EUR",
      quantity: 2,
      lineTotalCents: 2980,
    },
  ],
  totalCents: 2980,
  currency: "EUR",
  shippingAddress: address,
  statusHistory: [
    { from: null, to: "pending", at: AT, by: IDS.user },
    { from: "pending", to: "paid", at: LATER, by: IDS.admin, reason: "Bank transfer received." },
  ],
  createdAt: AT,
  updatedAt: LATER,
};
const file = {
  id: IDS.file,
  ownerId: IDS.user,
  filename: "receipt.png",
  contentType: "image/png",
  size: 48213,
  sha256: "7cf1844ff8443651643475620b2085b3f44c031b7ad6294a72d5aaeb91f4a469",
  public: false,
  createdAt: AT,
};
const client = {
  id: IDS.client,
  name: "Warehouse sync",
  clientId: "cli_oJpkm-QSU_HxENdk8B89sw",
  role: "admin",
  effectiveRole: "admin",
  active: true,
  createdBy: IDS.admin,
  lastUsedAt: LATER,
  createdAt: AT,
  updatedAt: LATER,
};
const deadLetter = {
  id: `order.created:${IDS.order}`,
  event: "order.created",
  template: "order-confirmation",
  recipient: "ada@example.com",
  subject: "Order 7e8f9a0b confirmed: €29.80",
  status: "dead",
  attempts: 5,
  lastError: "550 5.1.1 mailbox unavailable",
  createdAt: AT,
  updatedAt: LATER,
};
const recoveryCodes = { type: "array", items: { type: "string" }, minItems: 1, description: "Each works once instead of a TOTP code." };
const jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIzYzllMWEyYi03ZDRmLTRlNjAtOGExYi0yYzNkNGU1ZjZhN2IifQ.signature";

const ENTITIES: Record<string, JsonSchema> = {
  Product: object(
    "A product of the catalogue.",
    {
      id: uuid,
      sku: { type: "string", pattern: "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", description: "Unique stock-keeping unit." },
      name: { type: "string", minLength: 1, maxLength: 200 },
      description: { type: "string", maxLength: 5000 },
      priceCents: cents("Unit price"),
      currency,
      stock: { type: "integer", minimum: 0, description: "Units available (reserved units are not counted)." },
      active: { type: "boolean", description: "Inactive products are hidden from shoppers." },
      images: { type: "array", items: uuid, maxItems: 10, description: "File ids of its pictures, in order." },
      imageUrls: {
        type: "array",
        items: { type: "string", format: "uri-reference" },
        description: "Where anyone can fetch each picture (`/api/files/<id>`).",
      },
      createdAt: time,
      updatedAt: time,
    },
    product,
  ),
  User: object(
    "An account. Never carries password hashes, second-factor secrets or tokens.",
    {
      id: uuid,
      email: { type: "string", format: "email" },
      name: { type: "string", minLength: 1, maxLength: 100 },
      role: { enum: [...ROLES], description: "user < admin < superuser." },
      active: { type: "boolean", description: "A deactivated account cannot sign in." },
      emailVerified: { type: "boolean" },
      twoFactorEnabled: { type: "boolean" },
      avatarFileId: nullable(uuid),
      avatarUrl: { type: ["string", "null"], format: "uri-reference", description: "Where anyone can fetch the avatar, or null." },
      createdAt: time,
      updatedAt: time,
    },
    user,
  ),
  Order: object(
    "An order: lines priced when the stock was reserved, the address, the status and its history.",
    {
      id: uuid,
      userId: { ...uuid, description: "The customer." },
      status: ref("OrderStatus"),
      items: { type: "array", minItems: 1, items: ref("OrderItem") },
      totalCents: cents("Sum of the lines"),
      currency,
      shippingAddress: ref("ShippingAddress"),
      statusHistory: { type: "array", items: ref("StatusChange"), description: "Every status the order had, oldest first." },
      createdAt: time,
      updatedAt: time,
    },
    order,
  ),
  OrderStatus: { enum: [...ORDER_STATUS_VALUES], description: "pending → paid → shipped → delivered; pending or paid → cancelled." },
  OrderItem: object(
    "A line of an order, with the product's name and price at checkout.",
    {
      productId: uuid,
      sku: { type: "string" },
      name: { type: "string" },
      unitPriceCents: cents("Unit price at checkout"),
      currency,
      quantity: { type: "integer", minimum: 1 },
      lineTotalCents: cents("unitPriceCents × quantity"),
    },
    order.items[0]!,
  ),
  ShippingAddress: object(
    "Where the order goes.",
    {
      name: { type: "string" },
      line1: { type: "string" },
      line2: { type: "string" },
      city: { type: "string" },
      postalCode: { type: "string" },
      country: { type: "string", pattern: "^[A-Z]{2}$", description: "ISO 3166-1 alpha-2." },
      phone: { type: "string" },
    },
    address,
    ["line2", "phone"],
  ),
  StatusChange: object(
    "One step of an order's history.",
    {
      from: { anyOf: [ref("OrderStatus"), { type: "null" }], description: "null for the order's creation." },
      to: ref("OrderStatus"),
      at: time,
      by: { type: "string", description: "The id of the account that made the change, or `system` (unpaid orders expiring)." },
      reason: { type: "string" },
    },
    order.statusHistory[1]!,
    ["reason"],
  ),
  File: object(
    "An uploaded file (its content is at `GET /api/files/{id}`).",
    {
      id: uuid,
      ownerId: uuid,
      filename: { type: "string", description: "Sanitized name, as uploaded." },
      contentType: { type: "string" },
      size: { type: ["integer", "null"], minimum: 0, description: "Bytes; null until a direct upload is complete." },
      sha256: { type: ["string", "null"], pattern: "^[0-9a-f]{64}$", description: "Hex SHA-256 of the content; null until complete." },
      public: { type: "boolean", description: "Shown as a product image or an avatar: anyone may download it." },
      createdAt: time,
    },
    file,
  ),
  ApiClient: object(
    "An API client (OAuth 2.0 client credentials). Its secret is only shown when it is created.",
    {
      id: uuid,
      name: { type: "string" },
      clientId: { type: "string" },
      role: { enum: [...ROLES], description: "The role it was given; only a superuser gives admin or above." },
      effectiveRole: {
        enum: [...ROLES, null],
        description:
          "The role it acts with now: its role, bounded by its creator's current role; null while it or its creator is inactive.",
      },
      active: { type: "boolean" },
      createdBy: uuid,
      lastUsedAt: { type: ["string", "null"], format: "date-time" },
      createdAt: time,
      updatedAt: time,
    },
    client,
  ),
  DeadLetter: object(
    "An e-mail that could not be delivered after every attempt.",
    {
      id: { type: "string", description: "The message id (`<event>:<entity id>`)." },
      event: { type: "string" },
      template: { type: ["string", "null"] },
      recipient: { type: ["string", "null"] },
      subject: { type: ["string", "null"] },
      status: { type: "string", description: "`dead` while it waits for a retry." },
      attempts: { type: "integer", minimum: 0 },
      lastError: { type: ["string", "null"] },
      createdAt: time,
      updatedAt: time,
    },
    deadLetter,
  ),
};

/** `{rows, total, page, pageSize, totalPages}` with rows of `item`. */
function page(item: string, example: Record<string, unknown>): JsonSchema {
  return {
    type: "object",
    description: `One page of ${item} rows.`,
    required: ["rows", "total", "page", "pageSize", "totalPages"],
    properties: {
      rows: { type: "array", items: ref(item) },
      total: { type: "integer", minimum: 0, description: "Rows matching the query, on every page." },
      page: { type: "integer", minimum: 1 },
      pageSize: { type: "integer", minimum: 1, maximum: 100 },
      totalPages: { type: "integer", minimum: 0 },
    },
    examples: [{ rows: [example], total: 1, page: 1, pageSize: 20, totalPages: 1 }],
  };
}

const ANSWERS: Record<string, JsonSchema> = {
  Tokens: object(
    "A signed-in session: a short-lived access token and a single-use refresh token.",
    {
      accessToken: { type: "string", description: "JWT for `Authorization: Bearer`." },
      refreshToken: { type: "string", description: "Opaque; POST /api/auth/refresh swaps it for a new pair, once." },
      tokenType: { const: "Bearer" },
      expiresIn: { type: "integer", minimum: 1, description: "Seconds the access token is valid." },
    },
    { accessToken: jwt, refreshToken: "xPLE5t7jq0jlGwwTZaYiGjvVFKPUu0i2fXA5TO9l_i0", tokenType: "Bearer", expiresIn: 900 },
  ),
  SecondFactorRequired: object(
    "The first factor passed (the password, or an OpenID provider); the account asks for a second one, from `methods`: " +
      "`totp` and `recovery` at POST /api/auth/login/totp, `sms` at POST /api/auth/login/sms/send, then POST /api/auth/login/sms.",
    {
      mfaRequired: { const: true },
      mfaToken: { type: "string", description: "Short-lived; passed with the code." },
      methods: {
        type: "array",
        items: { enum: ["totp", "sms", "recovery"] },
        minItems: 1,
        description: "The account's second factors, in the order to offer them.",
      },
      smsPhoneNumber: { type: "string", description: "With `sms`: where the code goes, masked (+•••••••••78)." },
    },
    { mfaRequired: true, mfaToken: "mfa_Yk3p0c6QpWc2lK1r8xq9Rw", methods: ["sms", "recovery"], smsPhoneNumber: "+••••••••••78" },
    ["smsPhoneNumber"],
  ),
  OAuthToken: object(
    "An RFC 6749 access token response.",
    {
      access_token: { type: "string" },
      token_type: { const: "Bearer" },
      expires_in: { type: "integer", minimum: 1 },
      refresh_token: { type: "string", description: "With grant_type=refresh_token only: the next refresh token." },
    },
    { access_token: jwt, token_type: "Bearer", expires_in: 900 },
    ["refresh_token"],
  ),
  ApiClientCreated: object(
    "A new API client with its secret: shown this once, stored hashed.",
    {
      id: uuid,
      name: { type: "string" },
      clientId: { type: "string" },
      clientSecret: { type: "string" },
      role: { enum: [...ROLES] },
      active: { type: "boolean" },
      createdAt: time,
    },
    {
      id: IDS.client,
      name: "Warehouse sync",
      clientId: client.clientId,
      clientSecret: "1byMd3m2k8I0NHmNIeK2qdv49xyHhj_HUj2iNkdvyKI",
      role: "admin",
      active: true,
      createdAt: AT,
    },
  ),
  TwoFactorSetup: object(
    "A new TOTP secret for an authenticator app: enter the secret or scan the QR code, then confirm a code at POST /api/auth/2fa/enable.",
    {
      secret: { type: "string", pattern: "^[A-Z2-7]+=*$", description: "Base32." },
      otpauthUrl: { type: "string", format: "uri" },
      qrCode: { type: "string", description: "The otpauth URL as a PNG `data:` URL." },
    },
    {
      secret: "PNKCMOQCV3IKVUTIVCW4F5BTGMFEENV4",
      otpauthUrl:
        "otpauth://totp/moleculer-shop:ada%40example.com?secret=PNKCMOQCV3IKVUTIVCW4F5BTGMFEENV4" +
        "&issuer=moleculer-shop&algorithm=SHA1&digits=6&period=30",
      qrCode: "data:image/png;base64,iVBORw0KGgo...",
    },
  ),
  TwoFactorEnabled: object(
    "Two-factor authentication is on. The recovery codes are shown this once.",
    { enabled: { const: true }, recoveryCodes },
    { enabled: true, recoveryCodes: ["rbr4-w299-153b", "kc59-332y-zn7m"] },
  ),
  TwoFactorDisabled: object("Two-factor authentication is off.", { enabled: { const: false } }, { enabled: false }),
  RecoveryCodes: object(
    "New recovery codes (the old ones no longer work), shown this once; each signs in once instead of a TOTP code.",
    { recoveryCodes },
    { recoveryCodes: ["e5a5-zb66-6dyf", "tq8s-jawn-qf7z"] },
  ),
  TwoFactorStatus: object(
    "Which second factors the account has on; no secret, the SMS number masked.",
    {
      enabled: { type: "boolean", description: "Any second factor is on." },
      totp: { type: "boolean", description: "An authenticator app (TOTP)." },
      sms: {
        ...nullable({ type: "object" }),
        required: ["phoneNumber"],
        properties: { phoneNumber: { type: "string" } },
        description: "Codes by SMS to this number (masked), or null.",
      },
      recoveryCodesLeft: { type: "integer", minimum: 0 },
    },
    { enabled: true, totp: false, sms: { phoneNumber: "+••••••••••78" }, recoveryCodesLeft: 10 },
  ),
  SmsCodeSent: object(
    "A code is on its way by SMS (the number masked); it works once, for `expiresIn` seconds.",
    { sent: { const: true }, phoneNumber: { type: "string" }, expiresIn: { type: "integer", minimum: 1 } },
    { sent: true, phoneNumber: "+••••••••••78", expiresIn: 300 },
  ),
  SmsEnabled: object(
    "The number is the account's SMS second factor. Recovery codes come with it, shown this once, when the account had none.",
    { enabled: { const: true }, phoneNumber: { type: "string", description: "Masked." }, recoveryCodes },
    { enabled: true, phoneNumber: "+••••••••••78", recoveryCodes: ["rbr4-w299-153b", "kc59-332y-zn7m"] },
    ["recoveryCodes"],
  ),
  SmsDisabled: object(
    "SMS sign-in codes are off (an authenticator app, if on, stays on).",
    { enabled: { const: false } },
    { enabled: false },
  ),
  OidcProviders: object(
    "The OpenID Connect providers one can sign in with: a sign-in button each, linking to `url`.",
    {
      providers: {
        type: "array",
        items: {
          type: "object",
          required: ["id", "name", "url"],
          properties: {
            id: { type: "string" },
            name: { type: "string" },
            url: { type: "string", description: "GET it in the browser: a redirect to the provider." },
          },
        },
      },
    },
    { providers: [{ id: "google", name: "Google", url: "/api/auth/oidc/google" }] },
  ),
  EmailVerified: object("The address is confirmed.", { emailVerified: { const: true } }, { emailVerified: true }),
  ResetRequested: object(
    "Always the same answer, whether an account exists or not.",
    { status: { const: "accepted" }, message: { type: "string" } },
    { status: "accepted", message: "If an account exists for this address, a reset link is on its way." },
  ),
  PasswordReset: object("The new password is set; every session of the account has ended.", { status: { const: "ok" } }, { status: "ok" }),
  PresignedUpload: object(
    "A pending file and where to PUT its content, with these headers, before `expiresAt`; then POST /api/files/{id}/complete.",
    {
      id: uuid,
      url: { type: "string", format: "uri" },
      method: { const: "PUT" },
      headers: { type: "object", additionalProperties: { type: "string" } },
      expiresAt: time,
    },
    {
      id: IDS.file,
      url: "https://shop-uploads.s3.eu-west-1.amazonaws.com/files/2d3e4f5a?X-Amz-Signature=...",
      method: "PUT",
      headers: { "Content-Type": "image/png" },
      expiresAt: LATER,
    },
  ),
  MailRetry: object(
    "The message is queued for delivery again.",
    { id: { type: "string" }, status: { const: "queued" } },
    { id: deadLetter.id, status: "queued" },
  ),
  Liveness: object("The process answers.", { status: { const: "ok" } }, { status: "ok" }),
  Readiness: object(
    "Whether this gateway can serve: each routed service and its state (`ok`, `not discovered`, `no routes yet`, or what went wrong). " +
      "`degraded` (still 200): a service that is not critical does not answer; `unavailable` (503): a critical one does not.",
    {
      status: { enum: ["ok", "degraded", "unavailable"] },
      services: { type: "object", additionalProperties: { type: "string" } },
      critical: { type: "array", items: { type: "string" }, description: "The services without which this gateway is not ready." },
    },
    {
      status: "degraded",
      services: { users: "ok", products: "ok", orders: "ok", mail: "not discovered", storage: "ok" },
      critical: ["users", "products", "orders"],
    },
  ),
  OpenApiDocument: {
    type: "object",
    description: "An OpenAPI 3.1 document (this one).",
    required: ["openapi", "info", "paths"],
    properties: {
      openapi: { type: "string" },
      info: { type: "object", additionalProperties: true },
      paths: { type: "object", additionalProperties: true },
    },
    additionalProperties: true,
  },
};

/** Every schema the success answers refer to, for `components.schemas`. */
export const RESPONSE_SCHEMAS: Record<string, JsonSchema> = {
  ...ENTITIES,
  ...ANSWERS,
  ProductPage: page("Product", product),
  UserPage: page("User", user),
  OrderPage: page("Order", order),
  FilePage: page("File", file),
  ApiClientPage: page("ApiClient", client),
  DeadLetterPage: page("DeadLetter", deadLetter),
};

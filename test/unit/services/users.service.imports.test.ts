/**
 * A users node loads only what it runs: the Redis client, the Twilio SDK and the TOTP/QR
 * packages are imported when the configuration or a request needs them, not with the service.
 */
import os from "node:os";
import path from "node:path";
import { packagesLoadedBy } from "../../support/imports.ts";

const ENV = {
  JWT_SECRET: "j".repeat(40),
  SECRETS_KEY: "s".repeat(40),
  SQLITE_PATH: path.join(os.tmpdir(), "shop-imports-never-opened.sqlite"),
  SERVICES: "users",
};
const ON_DEMAND = ["ioredis", "twilio", "qrcode", "speakeasy", "pngjs", "umzug", "@aws-sdk/client-s3"];

test("importing the users service loads none of the packages it needs only on demand", () => {
  const loaded = packagesLoadedBy(`await import(url("services/users.service.ts"));`, ENV);
  expect(loaded).toEqual(expect.arrayContaining(["jsonwebtoken", "rate-limiter-flexible", "sequelize"]));
  expect(loaded.filter((p) => ON_DEMAND.includes(p))).toEqual([]);
});

test("what every node's entry point imports besides its broker (startup errors) does not bring umzug", () => {
  const loaded = packagesLoadedBy(`await import(url("scripts/support/startup-failure.ts"));`, ENV);
  expect(loaded).not.toContain("umzug");
});

/**
 * Object storage behind one interface (object-store.ts): S3 when S3_BUCKET is set, else a
 * local folder. `createObjectStore` builds the one the configuration asks for. The AWS SDK
 * (~30 MB of RSS and 0.2 s of imports) is imported only for S3: import S3ObjectStore from ./s3.ts.
 */
import { createHmac } from "node:crypto";
import type { Config } from "../../lib/config.ts";
import type { S3StoreOptions } from "./s3.ts";
import { LocalObjectStore } from "./local.ts";
import type { ObjectStore } from "./object-store.ts";

export * from "./object-store.ts";
export type { S3StoreOptions } from "./s3.ts";
export { LocalObjectStore, PresignUnsupportedError, type LocalStoreOptions } from "./local.ts";
export { SignedUrlError, signToken, verifyToken, type UrlClaims } from "./signed-urls.ts";
export { contentDisposition } from "./content-disposition.ts";

/** Path, under the API base, where the gateway serves the local store's signed URLs. */
export const SIGNED_URL_PATH = "/files/signed";

export async function createObjectStore(
  cfg: Pick<Config, "storage" | "appUrl" | "auth">,
  s3Overrides: Partial<S3StoreOptions> = {},
): Promise<ObjectStore> {
  const storage = cfg.storage;
  if (storage.driver === "s3") {
    const { S3ObjectStore } = await import("./s3.ts");
    return new S3ObjectStore({
      bucket: storage.bucket!,
      region: storage.region,
      endpoint: storage.endpoint,
      publicEndpoint: storage.publicEndpoint,
      forcePathStyle: storage.forcePathStyle,
      ...s3Overrides,
    });
  }
  return new LocalObjectStore({
    dir: storage.localDir,
    signedUrls: {
      baseUrl: `${cfg.appUrl}/api${SIGNED_URL_PATH}`,
      // A key of its own, derived from the secrets key: a leaked URL key reveals nothing else.
      secret: createHmac("sha256", cfg.auth.secretsKey).update("storage signed URLs v1").digest(),
    },
  });
}

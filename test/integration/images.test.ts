/**
 * Product images and avatars over HTTP on real PostgreSQL (every service in one node, files
 * in a local folder): attach / detach / reorder, who may, what is refused (422 on fileId),
 * anonymous downloads of public files and 404s for private ones, `files.removed` detaching
 * (and cleaning cached reads), removals nobody heard, avatars, releases when a product or an
 * account goes. Then `files.removed` handled by exactly one of two products replicas, and
 * migration 0007 down and up on PostgreSQL and SQLite.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomBytes, randomUUID } from "node:crypto";
import { ServiceBroker, type ServiceSchema } from "moleculer";
import { describeWithServers } from "../support/servers.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { startTestShop, type TestNode } from "../support/node.ts";
import { shopClient, type Account } from "../support/shop-client.ts";
import { until } from "../../scripts/support/until.ts";

const suite = await describeWithServers("postgres");

const PNG_HEAD = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
const png = (size = 300) => Buffer.concat([PNG_HEAD, randomBytes(size)]);
const MIGRATION = "20261129-0007-images";

suite("product images and avatars on PostgreSQL", () => {
  let node: TestNode & { databaseUrl: string };
  let origin: string;
  let admin: string;
  let alice: Account;
  let bob: Account;

  const shop = shopClient(() => node);
  const { http: call, as, shopper: signUp } = shop;
  const sql = (query: string, replacements: Record<string, unknown> = {}) =>
    (node.broker.getLocalService("products") as any).adapter.db.query(query, { replacements, type: "SELECT" }) as Promise<any[]>;

  async function upload(token: string, bytes: Buffer, type: string, filename = "picture.png") {
    const form = new FormData();
    form.append("file", new Blob([new Uint8Array(bytes)], { type }), filename);
    const res = await call("/files", { method: "POST", headers: as(token), body: form });
    expect(res.status).toBe(201);
    return res.body as { id: string; ownerId: string; public: boolean };
  }

  /** Anonymous download: status, bytes and headers. */
  async function fetchFile(url: string, headers: Record<string, string> = {}) {
    const res = await fetch(url.startsWith("/") ? origin + url : url, { headers, redirect: "manual" });
    return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
  }

  const product = () => shop.product(admin, { name: "Mug", priceCents: 1200, stock: 3 });

  const attach = (productId: string, fileId: unknown, token = admin) =>
    call(`/products/${productId}/images`, { method: "POST", headers: as(token), json: { fileId } });

  beforeAll(async () => {
    node = await startTestShop("images", { CACHER: "memory", RATE_LIMIT_FACTOR: "100", S3_BUCKET: "" });
    origin = new URL(node.api).origin;
    admin = (await shop.root()).token;
    alice = await signUp("alice");
    bob = await signUp("bob");
  }, 60_000);

  afterAll(async () => {
    await node?.stop();
  });

  describe("product images", () => {
    test("an admin attaches an uploaded image: anyone sees it on the product and downloads it without credentials", async () => {
      const bytes = png(5000);
      const file = await upload(admin, bytes, "image/png", "mug-front.png");
      expect(file.public).toBe(false);
      const p = await product();
      expect(p).toMatchObject({ images: [], imageUrls: [] });
      // Private until attached: anonymous → 404, exactly like an unknown id.
      const before = await call(`/files/${file.id}`);
      expect(before).toMatchObject({ status: 404, body: { code: 404, type: "NOT_FOUND" } });
      expect(before.body.message).toBe((await call(`/files/${randomUUID()}`)).body.message);

      const res = await attach(p.id, file.id);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: p.id, images: [file.id], imageUrls: [`/api/files/${file.id}`] });

      const anonymous = await call(`/products/${p.id}`);
      expect(anonymous).toMatchObject({ status: 200, body: { images: [file.id], imageUrls: [`/api/files/${file.id}`] } });
      const listed = await call(`/products?search=${encodeURIComponent((res.body as any).sku)}`);
      expect(listed.body.rows).toEqual([expect.objectContaining({ id: p.id, images: [file.id], imageUrls: [`/api/files/${file.id}`] })]);

      const download = await fetchFile(anonymous.body.imageUrls[0]);
      expect(download.status).toBe(200);
      expect(download.body.equals(bytes)).toBe(true);
      expect(download.headers.get("content-type")).toBe("image/png");
      expect(download.headers.get("cache-control")).toBe("public, max-age=300");
      expect(download.headers.get("x-content-type-options")).toBe("nosniff");

      // The owner sees the flag; attaching again changes nothing.
      const mine = await call(`/files?pageSize=100`, { headers: as(admin) });
      expect(mine.body.rows.find((f: any) => f.id === file.id)).toMatchObject({ public: true });
      expect((await attach(p.id, file.id)).body.images).toEqual([file.id]);
    });

    test("refused files → 422 naming fileId (not an image, not ready, unknown, malformed); nothing is published", async () => {
      const p = await product();
      const text = await upload(admin, Buffer.from("plain words\n"), "text/plain", "notes.txt");
      const pdf = await upload(
        admin,
        Buffer.from("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + "x".repeat(100), "latin1"),
        "application/pdf",
        "spec.pdf",
      );
      const pending = await call("/files/presign", {
        method: "POST",
        headers: as(admin),
        json: { filename: "later.png", contentType: "image/png", size: 100 },
      });
      expect(pending.status).toBe(201);

      const cases: [unknown, string][] = [
        [text.id, "notAnImage"],
        [pdf.id, "notAnImage"],
        [pending.body.id, "fileNotReady"],
        [randomUUID(), "fileNotFound"],
      ];
      for (const [fileId, type] of cases) {
        const res = await attach(p.id, fileId);
        expect([fileId, res.status]).toEqual([fileId, 422]);
        expect(res.body).toMatchObject({ name: "ValidationError", code: 422, type: "VALIDATION_ERROR", data: [{ field: "fileId", type }] });
      }
      for (const fileId of ["not-a-uuid", 42, null]) {
        const res = await attach(p.id, fileId);
        expect(res.status).toBe(422);
        expect(res.body.data.map((d: any) => d.field)).toContain("fileId");
      }
      expect(
        (await call(`/products/${p.id}/images`, { method: "POST", headers: as(admin), json: { fileId: text.id, extra: 1 } })).status,
      ).toBe(422);
      expect((await call(`/products/${p.id}`)).body.images).toEqual([]);
      expect((await call(`/files/${text.id}`)).status).toBe(404);
      expect((await call(`/files/${pdf.id}`)).status).toBe(404);
    });

    test("who may: shoppers 403, anonymous 401 (with WWW-Authenticate), unknown product 404; nothing changes", async () => {
      const p = await product();
      const file = await upload(admin, png(), "image/png");
      const mine = await upload(alice.token, png(), "image/png");
      expect(await attach(p.id, mine.id, alice.token)).toMatchObject({ status: 403, body: { type: "FORBIDDEN" } });
      expect((await call(`/products/${p.id}/images/${file.id}`, { method: "DELETE", headers: as(alice.token) })).status).toBe(403);
      expect((await call(`/products/${p.id}/images`, { method: "PATCH", headers: as(alice.token), json: { images: [] } })).status).toBe(
        403,
      );
      const anonymous = await call(`/products/${p.id}/images`, { method: "POST", json: { fileId: file.id } });
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get("www-authenticate")).toContain("Bearer");
      for (const id of [randomUUID(), "nope"]) expect((await attach(id, file.id)).status).toBe(404);
      expect((await call(`/products/${p.id}`)).body.images).toEqual([]);
      // The refused attach to an unknown product did not publish the file.
      expect((await call(`/files/${file.id}`)).status).toBe(404);
      expect((await call(`/files/${mine.id}`)).status).toBe(404);
    });

    test(`an admin cannot publish another user's private upload: 422 like a missing file, \
and it stays private (issue 12, finding 8)`, async () => {
      const p = await product();
      const secret = await upload(alice.token, png(), "image/png", "passport.png");
      const refused = await attach(p.id, secret.id);
      expect(refused).toMatchObject({ status: 422, body: { data: [{ field: "fileId", type: "fileNotFound" }] } });
      expect(refused.body).toEqual((await attach(p.id, randomUUID())).body);
      expect((await call(`/files/${secret.id}`)).status).toBe(404);
      expect((await call(`/products/${p.id}`)).body.images).toEqual([]);
      // Alice's avatar is public but unlisted: not catalogue content either.
      const avatar = await upload(alice.token, png(), "image/png", "me.png");
      expect((await call("/users/me/avatar", { method: "PUT", headers: as(alice.token), json: { fileId: avatar.id } })).status).toBe(200);
      expect((await attach(p.id, avatar.id)).status).toBe(422);
      // A picture already in the catalogue (another admin's) may be reused by any admin.
      const bossToken = (await shop.admin("second-admin")).token;
      const mine = await upload(admin, png(), "image/png", "catalogue.png");
      expect((await attach(p.id, mine.id)).status).toBe(200);
      const other = await product();
      expect((await attach(other.id, mine.id, bossToken)).status).toBe(200);
      // ...but not an admin's upload that no product shows yet.
      const draft = await upload(admin, png(), "image/png", "draft.png");
      expect((await attach(other.id, draft.id, bossToken)).status).toBe(422);
    });

    test("at most 10 images, in order; reorder the same ids; detach → private again unless shown elsewhere", async () => {
      const p = await product();
      const files: string[] = [];
      for (let i = 0; i < 11; i++) files.push((await upload(admin, png(100), "image/png", `v${i}.png`)).id);
      for (const id of files.slice(0, 10)) expect((await attach(p.id, id)).status).toBe(200);
      const full = await attach(p.id, files[10]);
      expect(full).toMatchObject({ status: 422, body: { data: [{ field: "fileId", type: "tooManyImages" }] } });
      expect((await call(`/files/${files[10]}`)).status).toBe(404);
      expect((await call(`/products/${p.id}`)).body.images).toEqual(files.slice(0, 10));

      const reversed = files.slice(0, 10).reverse();
      const reordered = await call(`/products/${p.id}/images`, { method: "PATCH", headers: as(admin), json: { images: reversed } });
      expect(reordered).toMatchObject({ status: 200, body: { images: reversed, imageUrls: reversed.map((id) => `/api/files/${id}`) } });
      for (const images of [reversed.slice(1), [...reversed.slice(1), files[10]], [...reversed.slice(1), reversed[1]]]) {
        const bad = await call(`/products/${p.id}/images`, { method: "PATCH", headers: as(admin), json: { images } });
        expect(bad).toMatchObject({ status: 422, body: { data: [{ field: "images", type: "notAPermutation" }] } });
      }
      expect((await call(`/products/${p.id}`)).body.images).toEqual(reversed);

      // The same picture on a second product: detaching it from one keeps it public.
      const shared = reversed[0]!;
      const other = await product();
      expect((await attach(other.id, shared)).status).toBe(200);
      expect((await call(`/products/${p.id}/images/${shared}`, { method: "DELETE", headers: as(admin) })).status).toBe(204);
      expect((await call(`/products/${p.id}`)).body.images).toEqual(reversed.slice(1));
      expect((await fetchFile(`/api/files/${shared}`)).status).toBe(200);
      expect((await call(`/products/${p.id}/images/${shared}`, { method: "DELETE", headers: as(admin) })).status).toBe(404);
      expect((await call(`/products/${other.id}/images/${shared}`, { method: "DELETE", headers: as(admin) })).status).toBe(204);
      expect((await call(`/files/${shared}`)).status).toBe(404);
      // Its owner still has it.
      expect((await fetchFile(`/api/files/${shared}`, as(admin))).status).toBe(200);
    });

    test("deleting the file detaches it: the product (and its cached reads) no longer list it", async () => {
      const p = await product();
      const keep = await upload(admin, png(), "image/png", "keep.png");
      const doomed = await upload(admin, png(), "image/png", "doomed.png");
      await attach(p.id, doomed.id);
      await attach(p.id, keep.id);
      // Cached now, for anonymous shoppers and for admins.
      expect((await call(`/products/${p.id}`)).body.images).toEqual([doomed.id, keep.id]);
      expect((await call(`/products/${p.id}`, { headers: as(admin) })).body.images).toEqual([doomed.id, keep.id]);

      expect((await call(`/files/${doomed.id}`, { method: "DELETE", headers: as(admin) })).status).toBe(204);
      await until("the product to drop the removed file", async () => (await call(`/products/${p.id}`)).body.images.length === 1);
      expect((await call(`/products/${p.id}`)).body).toMatchObject({ images: [keep.id], imageUrls: [`/api/files/${keep.id}`] });
      expect((await call(`/products/${p.id}`, { headers: as(admin) })).body.images).toEqual([keep.id]);
      expect((await sql(`SELECT images FROM products WHERE id = :id`, { id: p.id }))[0].images).toEqual([keep.id]);
      expect((await call(`/files/${doomed.id}`)).status).toBe(404);
      expect(await sql(`SELECT * FROM file_links WHERE "fileId" = :id`, { id: doomed.id })).toEqual([]);
    });

    test("a removal nobody heard: responses leave the id out at once when uncached, the next image change prunes it", async () => {
      const p = await product();
      const [a, b, c] = [
        await upload(admin, png(), "image/png"),
        await upload(admin, png(), "image/png"),
        await upload(admin, png(), "image/png"),
      ];
      for (const f of [a, b, c]) await attach(p.id, f.id);
      // The file goes behind everyone's back (as if no products replica had been running).
      await sql(`DELETE FROM files WHERE id = :id`, { id: b.id });
      await sql(`DELETE FROM file_links WHERE "fileId" = :id`, { id: b.id });
      await node.broker.cacher!.clean("products.**");
      expect((await call(`/products/${p.id}`)).body).toMatchObject({
        images: [a.id, c.id],
        imageUrls: [`/api/files/${a.id}`, `/api/files/${c.id}`],
      });
      expect((await sql(`SELECT images FROM products WHERE id = :id`, { id: p.id }))[0].images).toEqual([a.id, b.id, c.id]);
      // What clients see is what they may send back.
      const res = await call(`/products/${p.id}/images`, { method: "PATCH", headers: as(admin), json: { images: [c.id, a.id] } });
      expect(res).toMatchObject({ status: 200, body: { images: [c.id, a.id] } });
      expect((await sql(`SELECT images FROM products WHERE id = :id`, { id: p.id }))[0].images).toEqual([c.id, a.id]);
    });

    test("a deleted product lets go of its images", async () => {
      const p = await product();
      const file = await upload(admin, png(), "image/png");
      await attach(p.id, file.id);
      expect((await fetchFile(`/api/files/${file.id}`)).status).toBe(200);
      expect((await call(`/products/${p.id}`, { method: "DELETE", headers: as(admin) })).status).toBe(204);
      expect((await call(`/files/${file.id}`)).status).toBe(404);
      expect((await fetchFile(`/api/files/${file.id}`, as(admin))).status).toBe(200);
    });
  });

  describe("avatars", () => {
    test("set: the caller's own ready image; shown in the profile; anyone can load it", async () => {
      const bytes = png(2000);
      const file = await upload(alice.token, bytes, "image/png", "me.png");
      const res = await call("/users/me/avatar", { method: "PUT", headers: as(alice.token), json: { fileId: file.id } });
      expect(res).toMatchObject({ status: 200, body: { id: alice.id, avatarFileId: file.id, avatarUrl: `/api/files/${file.id}` } });
      expect(res.body.passwordHash).toBeUndefined();
      expect((await call("/users/me", { headers: as(alice.token) })).body).toMatchObject({
        avatarFileId: file.id,
        avatarUrl: `/api/files/${file.id}`,
      });
      expect((await call(`/users/${alice.id}`, { headers: as(admin) })).body.avatarFileId).toBe(file.id);
      const download = await fetchFile(res.body.avatarUrl);
      expect(download.status).toBe(200);
      expect(download.body.equals(bytes)).toBe(true);
      // Setting the same file again is fine.
      expect((await call("/users/me/avatar", { method: "PUT", headers: as(alice.token), json: { fileId: file.id } })).status).toBe(200);
    });

    test("someone else's file is as unknown as a missing one; not an image → 422; anonymous 401; API clients 403", async () => {
      const alices = await upload(alice.token, png(), "image/png");
      const text = await upload(bob.token, Buffer.from("hello\n"), "text/plain", "a.txt");
      const put = (token: string | null, fileId: unknown) =>
        call("/users/me/avatar", { method: "PUT", headers: token ? as(token) : {}, json: { fileId } });
      const theirs = await put(bob.token, alices.id);
      const missing = await put(bob.token, randomUUID());
      expect(theirs).toMatchObject({ status: 422, body: { data: [{ field: "fileId", type: "fileNotFound" }] } });
      expect(theirs.body.message).toBe(missing.body.message);
      expect(theirs.body.data).toEqual(missing.body.data);
      expect(await put(bob.token, text.id)).toMatchObject({ status: 422, body: { data: [{ field: "fileId", type: "notAnImage" }] } });
      expect((await put(bob.token, "x")).status).toBe(422);
      expect((await put(null, alices.id)).status).toBe(401);
      expect((await call("/users/me/avatar", { method: "DELETE" })).status).toBe(401);
      // Not even an admin may take someone else's picture as their avatar.
      expect((await put(admin, alices.id)).body.data).toEqual([expect.objectContaining({ field: "fileId", type: "fileNotFound" })]);

      const client = (await call("/clients", { method: "POST", headers: as(admin), json: { name: "kiosk" } })).body;
      const token = (
        await call("/auth/token", {
          method: "POST",
          json: { grant_type: "client_credentials", client_id: client.clientId, client_secret: client.clientSecret },
        })
      ).body.access_token;
      expect((await put(token, alices.id)).status).toBe(403);

      expect((await call("/users/me", { headers: as(bob.token) })).body).toMatchObject({ avatarFileId: null, avatarUrl: null });
      expect((await call(`/files/${alices.id}`)).status).toBe(404);
    });

    test("change and remove: the old picture goes private again; its owner keeps it", async () => {
      const carol = await signUp("carol");
      const first = await upload(carol.token, png(), "image/png");
      const second = await upload(carol.token, png(), "image/png");
      await call("/users/me/avatar", { method: "PUT", headers: as(carol.token), json: { fileId: first.id } });
      expect((await fetchFile(`/api/files/${first.id}`)).status).toBe(200);
      const changed = await call("/users/me/avatar", { method: "PUT", headers: as(carol.token), json: { fileId: second.id } });
      expect(changed.body.avatarFileId).toBe(second.id);
      expect((await call(`/files/${first.id}`)).status).toBe(404);
      expect((await fetchFile(`/api/files/${second.id}`)).status).toBe(200);

      expect((await call("/users/me/avatar", { method: "DELETE", headers: as(carol.token) })).status).toBe(204);
      expect((await call("/users/me", { headers: as(carol.token) })).body).toMatchObject({ avatarFileId: null, avatarUrl: null });
      expect((await call(`/files/${second.id}`)).status).toBe(404);
      expect((await fetchFile(`/api/files/${second.id}`, as(carol.token))).status).toBe(200);
      expect((await call("/users/me/avatar", { method: "DELETE", headers: as(carol.token) })).status).toBe(204);
    });

    test("deleting the avatar's file clears the avatar; deleting the account releases the picture", async () => {
      const dave = await signUp("dave");
      const file = await upload(dave.token, png(), "image/png");
      await call("/users/me/avatar", { method: "PUT", headers: as(dave.token), json: { fileId: file.id } });
      expect((await call(`/files/${file.id}`, { method: "DELETE", headers: as(dave.token) })).status).toBe(204);
      await until(
        "the avatar to be cleared",
        async () => (await call("/users/me", { headers: as(dave.token) })).body.avatarFileId === null,
      );
      expect((await call("/users/me", { headers: as(dave.token) })).body.avatarUrl).toBeNull();

      const erin = await signUp("erin");
      const picture = await upload(erin.token, png(), "image/png");
      await call("/users/me/avatar", { method: "PUT", headers: as(erin.token), json: { fileId: picture.id } });
      expect((await fetchFile(`/api/files/${picture.id}`)).status).toBe(200);
      expect((await call(`/users/${erin.id}`, { method: "DELETE", headers: as(admin) })).status).toBe(204);
      expect((await call(`/files/${picture.id}`)).status).toBe(404);
    });
  });

  describe("a removed account", () => {
    test("its files go (avatar, private uploads, unfinished direct uploads); the product images it uploaded stay", async () => {
      const frank = await shop.admin("frank");
      const token = frank.token;
      const image = await upload(token, png(), "image/png", "catalogue.png");
      const p = await product();
      expect((await attach(p.id, image.id, token)).status).toBe(200);
      const notes = await upload(token, Buffer.from("private notes"), "text/plain", "notes.txt");
      const avatar = await upload(token, png(), "image/png");
      expect((await call("/users/me/avatar", { method: "PUT", headers: as(token), json: { fileId: avatar.id } })).status).toBe(200);
      const pending = await call("/files/presign", {
        method: "POST",
        headers: as(token),
        json: { filename: "later.pdf", contentType: "application/pdf", size: 1000 },
      });
      expect(pending.status).toBe(201);
      const filesOf = async () =>
        (await sql(`SELECT id FROM files WHERE "ownerId" = :id ORDER BY id`, { id: frank.id })).map((r) => r.id as string);
      expect((await filesOf()).sort()).toEqual([image.id, notes.id, avatar.id, pending.body.id].sort());

      expect((await call(`/users/${frank.id}`, { method: "DELETE", headers: as(admin) })).status).toBe(204);
      await until("the account's files to go", async () => (await filesOf()).length === 1);
      expect(await filesOf()).toEqual([image.id]);
      for (const id of [notes.id, avatar.id]) expect((await call(`/files/${id}`, { headers: as(admin) })).status).toBe(404);
      // The catalogue keeps its picture, public as before.
      expect((await fetchFile(`/api/files/${image.id}`)).status).toBe(200);
      expect((await call(`/products/${p.id}`)).body.images).toEqual([image.id]);
      // A redelivered event finds nothing more to do.
      const storage = node.broker.getLocalService("storage") as unknown as {
        purgeOwner(id: string): Promise<{ removed: number; kept: number }>;
      };
      expect(await storage.purgeOwner(frank.id)).toEqual({ removed: 0, kept: 1 });
    });
  });

  test("the OpenAPI document lists the new routes with their access", async () => {
    const doc = (await call("/openapi.json")).body;
    const op = (m: string, p: string) => doc.paths[p]?.[m];
    expect(op("post", "/api/products/{id}/images")).toMatchObject({
      operationId: "products.attachImage",
      description: expect.stringMatching(/`admin` role/),
    });
    expect(op("post", "/api/products/{id}/images").requestBody.content["application/json"].schema).toMatchObject({
      required: ["fileId"],
      properties: { fileId: { type: "string", format: "uuid" } },
    });
    expect(op("delete", "/api/products/{id}/images/{fileId}").responses["204"]).toBeDefined();
    expect(op("patch", "/api/products/{id}/images").operationId).toBe("products.reorderImages");
    expect(op("put", "/api/users/me/avatar").operationId).toBe("users.setAvatar");
    expect(op("delete", "/api/users/me/avatar").responses["204"]).toBeDefined();
    // Downloads: public (no credentials), 404 for what the caller may not see.
    expect(op("get", "/api/files/{id}").security).toEqual([]);
    expect(op("get", "/api/files/{id}").responses["404"]).toBeDefined();
  });

  test("files.removed is handled by exactly one replica of products and of users (balanced groups)", async () => {
    // Two replicas of each service on three nodes (the in-process Fake transporter), each with
    // the real service's `files.removed` declaration; what the handler then does to the
    // database is checked above, on the real node.
    const products = (await import("../../services/products.service.ts")).default as ServiceSchema;
    const users = (await import("../../services/users.service.ts")).default as ServiceSchema;
    const namespace = `images-${randomUUID().slice(0, 8)}`;
    const handled: Record<string, string[]> = {};
    const count = (who: string, fileId: unknown) => (handled[who] ??= []).push(String(fileId));
    const brokers = [0, 1].map((i) => {
      const broker = new ServiceBroker({ namespace, nodeID: `node-${i}`, transporter: "Fake", logger: false });
      broker.createService({
        name: "products",
        events: { "files.removed": (products.events as any)["files.removed"] },
        methods: {
          async forgetFile(_ctx: unknown, fileId: string) {
            count(`products-${i}`, fileId);
            return 0;
          },
        },
      } as ServiceSchema);
      broker.createService({
        name: "users",
        events: { "files.removed": (users.events as any)["files.removed"] },
        created(this: any) {
          this.adapter = { model: { update: async (_values: unknown, opts: any) => (count(`users-${i}`, opts.where.avatarFileId), [0]) } };
        },
      } as ServiceSchema);
      return broker;
    });
    const emitter = new ServiceBroker({ namespace, nodeID: "storage-0", transporter: "Fake", logger: false });
    brokers.push(emitter);
    try {
      await Promise.all(brokers.map((b) => b.start()));
      await until(
        "both replicas of each to be discovered",
        async () =>
          emitter.registry.getServiceList({ onlyAvailable: true }).filter((s: any) => ["products", "users"].includes(s.name)).length === 4,
      );
      const ids = Array.from({ length: 6 }, () => randomUUID());
      for (const id of ids) emitter.emit("files.removed", { file: { id } });
      emitter.emit("files.removed", { file: { id: "not-a-uuid" } });
      const all = (prefix: string) =>
        Object.entries(handled)
          .filter(([who]) => who.startsWith(prefix))
          .flatMap(([, seen]) => seen);
      await until("every event handled", async () => all("products").length >= 6 && all("users").length >= 6);
      await new Promise((r) => setTimeout(r, 200)); // a fixed wait on purpose: it proves that no replica handles one twice
      for (const service of ["products", "users"]) {
        // Each removal once per service (not once per replica), shared between the replicas.
        expect(all(service).sort()).toEqual([...ids].sort());
        expect(handled[`${service}-0`]?.length).toBeGreaterThan(0);
        expect(handled[`${service}-1`]?.length).toBeGreaterThan(0);
      }
    } finally {
      await Promise.all(brokers.map((b) => b.stop()));
    }
  });
});

/** Migration 0007 alone: down leaves the schema of 0006 (constraints included), up restores it. */
async function downAndUp(database: import("../../lib/config.ts").Config["database"]) {
  const { migrateUp, migrateDown } = await import("../../integrations/database/migrator.ts");
  const { createSequelize } = await import("../../integrations/database/sequelize.ts");
  expect(await migrateUp(database)).toContain(MIGRATION);
  const sequelize = createSequelize(database);
  try {
    const qi = sequelize.getQueryInterface();
    const columns = async (table: string) => Object.keys(await qi.describeTable(table));
    const tables = async () => ((await qi.showAllTables()) as string[]).sort();
    expect(await columns("files")).toContain("public");
    expect(await columns("products")).toContain("images");
    expect(await columns("users")).toContain("avatarFileId");
    expect(await tables()).toContain("file_links");

    const reverted = await migrateDown(database, MIGRATION);
    expect(reverted.at(-1)).toBe(MIGRATION);
    expect(await columns("files")).not.toContain("public");
    expect(await columns("products")).not.toContain("images");
    expect(await columns("users")).not.toContain("avatarFileId");
    expect(await tables()).not.toContain("file_links");
    // The tables keep what earlier migrations gave them (SQLite's removeColumn would not).
    const insertFile = (status: string) =>
      sequelize.query(
        `INSERT INTO files (id, "ownerId", filename, "contentType", key, status, "createdAt", "updatedAt")
         VALUES ('${randomUUID()}', '${randomUUID()}', 'a.png', 'image/png', '${randomUUID()}', '${status}', \
CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`,
      );
    await insertFile("ready");
    await expect(insertFile("bogus")).rejects.toThrow();
    const indexes = (await qi.showIndex("files")) as { name: string }[];
    expect(indexes.map((i) => i.name)).toEqual(expect.arrayContaining(["files_owner_created", "files_status_updated"]));

    expect(await migrateUp(database)).toEqual(reverted.reverse());
    expect(await columns("files")).toContain("public");
    // Rows that were there get the defaults.
    const [rows] = await sequelize.query(`SELECT "public" FROM files`);
    expect((rows as { public: unknown }[]).map((r) => Boolean(r.public))).toEqual([false]);
  } finally {
    await sequelize.close();
  }
}

describe("migration 0007 on SQLite", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shop-images-migration-"));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  test("down and up again", async () => {
    const { loadConfig } = await import("../../lib/config.ts");
    await downAndUp(loadConfig({ SQLITE_PATH: path.join(dir, "shop.sqlite") }).database);
  });
});

suite("migration 0007 on PostgreSQL", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase("images_migration");
  });
  afterAll(async () => {
    await db?.drop();
  });
  test("down and up again", async () => {
    const { loadConfig } = await import("../../lib/config.ts");
    await downAndUp(loadConfig({ DATABASE_URL: db.url }).database);
  });
});

/**
 * Schema-driven fuzzing of the whole API, driven by its own /api/openapi.json, against a real
 * shop on PostgreSQL: for every documented operation, as anonymous, as a user and as an admin,
 * fast-check generates requests (values that fit the documented parameters and bodies, their
 * boundaries, and hostile ones: control characters, unpaired surrogates, deep nesting, huge
 * numbers, prototype keys, oversized and wrong-typed values, broken bodies, wrong media
 * types), sends them, and checks each answer against the document (test/support/fuzz):
 *
 *   - never a 5xx;
 *   - a status the operation documents;
 *   - a body in a documented media type that matches the schema declared for it: errors
 *     against the error shapes, successes against whatever the document declares.
 *
 * FUZZ_REQUESTS (default 5,400) sets the total; FUZZ_SEED replays a run (the seed is printed).
 * A failure is shrunk by fast-check to a small request and reported as a curl command line.
 */
import fc from "fast-check";
import { describeWithServers } from "../support/servers.ts";
import { startTestShop, type TestNode } from "../support/node.ts";
import { shopClient } from "../support/shop-client.ts";
import { operationsOf, requestsFor, reproduction, type FuzzRequest, type Operation } from "../support/fuzz/requests.ts";
import { ContractChecker, type Answer } from "../support/fuzz/contract.ts";
import { startOidcProvider, type TestOidcProvider } from "../support/oidc-provider.ts";

const suite = await describeWithServers("postgres");

const TOTAL = Number(process.env.FUZZ_REQUESTS ?? 5_400);
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
/** Properties run side by side (each sends one request at a time). */
const CONCURRENCY = 6;

type Role = "anonymous" | "user" | "admin";

/** Who sends a request: a bearer token, renewed when the fuzzing itself ended its session. */
interface Principal {
  role: Role;
  token?: string;
  renew(): Promise<void>;
}

suite("fuzzing every documented operation from /api/openapi.json", () => {
  let node: TestNode;
  let doc: any;
  let origin: string;
  let checker: ContractChecker;
  let idp: TestOidcProvider;
  const principals: Principal[] = [];
  const known: Record<string, string[]> = {};
  let sent = 0;
  const statuses = new Map<string, number>();

  const shop = shopClient(() => node);
  const { http: call, as } = shop;

  /** A signed-in account of `role` (a fresh one when the old one can no longer sign in). */
  async function account(role: "user" | "admin"): Promise<Principal> {
    const principal: Principal = {
      role,
      async renew() {
        principal.token = (await shop.account(role, `fuzz-${role}`, { name: `Fuzz ${role}` })).token;
      },
    };
    await principal.renew();
    return principal;
  }

  beforeAll(async () => {
    // Small pools: five services share the machine's PostgreSQL with every other suite.
    // Nothing follows its redirects: the registered redirect URI only has to be one.
    idp = await startOidcProvider({ redirectUris: ["http://127.0.0.1/api/auth/oidc/idp/callback"] });
    node = await startTestShop("fuzz", {
      CACHER: "memory",
      RATE_LIMIT_FACTOR: "10000",
      DB_POOL_MAX: "3",
      // A real OpenID provider: its sign-in routes get past "not found" (a redirect to start, a 401 for a made-up callback).
      OIDC_PROVIDERS: "idp",
      OIDC_IDP_ISSUER: idp.issuer,
      OIDC_IDP_CLIENT_ID: idp.clientId,
      OIDC_IDP_CLIENT_SECRET: idp.clientSecret,
    });
    origin = new URL(node.api).origin;
    principals.push({ role: "anonymous", renew: async () => undefined }, await account("user"), await account("admin"));
    const [, user, admin] = principals;

    // Things that exist, so that some requests get past "not found".
    const product = await shop.product(admin!.token!, { sku: "FUZZ-1", name: "Fuzz kettle", priceCents: 100, stock: 1000 });
    const order = await shop.order(user!.token!, product.id, 1);
    const form = new FormData();
    form.append(
      "file",
      new Blob([Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52])], {
        type: "image/png",
      }),
      "dot.png",
    );
    const file = await call("/files", { method: "POST", headers: as(user!.token!), body: form });
    const presigned = await call("/files/presign", {
      method: "POST",
      headers: as(user!.token!),
      json: { filename: "a.png", contentType: "image/png", size: 16 },
    });
    expect([order.status, file.status, presigned.status]).toEqual([201, 201, 201]);
    Object.assign(known, {
      id: [product.id, order.body.id, file.body.id, presigned.body.id],
      fileId: [file.body.id],
      file: ["swagger-ui.css", "swagger-initializer.js", "index.html"],
      token: [String(presigned.body.url).split("/").pop()!],
      provider: ["idp"],
    });

    const res = await call("/openapi.json");
    expect(res.status).toBe(200);
    doc = res.body;
    checker = new ContractChecker(doc);
  });

  afterAll(async () => {
    await node?.stop();
    await idp?.close();
  });

  async function send(req: FuzzRequest, principal: Principal): Promise<Answer> {
    const headers: Record<string, string> = { ...req.headers };
    if (principal.token) headers.authorization = `Bearer ${principal.token}`;
    let body: RequestInit["body"];
    if (req.body?.multipart !== undefined) {
      const form = new FormData();
      const f = req.body.multipart;
      if (f) form.append("file", new Blob([Uint8Array.from(f.bytes)], { type: f.type }), f.filename);
      body = form;
    } else if (req.body?.text !== undefined || req.body?.bytes !== undefined) {
      if (req.body.contentType) headers["content-type"] = req.body.contentType;
      body = req.body.text ?? Uint8Array.from(req.body.bytes!);
    }
    const res = await fetch(origin + req.url, { method: req.method, headers, body, redirect: "manual" });
    const answer = { status: res.status, contentType: res.headers.get("content-type"), text: await res.text() };
    sent++;
    const key = `${principal.role} ${answer.status}`;
    statuses.set(key, (statuses.get(key) ?? 0) + 1);
    return answer;
  }

  test(`≥ ${TOTAL} requests: no 5xx, every status documented, every body in its documented shape`, async () => {
    const operations = operationsOf(doc);
    expect(operations.length).toBeGreaterThan(40);
    const runs: { op: Operation; principal: Principal }[] = operations.flatMap((op) => principals.map((principal) => ({ op, principal })));
    const numRuns = Math.ceil(TOTAL / runs.length);
    console.log(`Fuzzing ${operations.length} operations × ${principals.length} principals, ${numRuns} requests each; FUZZ_SEED=${SEED}`);
    const failures: string[] = [];
    const started = Date.now();

    const fuzz = async ({ op, principal }: (typeof runs)[number], index: number) => {
      const property = fc.asyncProperty(fc.limitShrink(requestsFor(op, doc, known), 60), async (req) => {
        let answer = await send(req, principal);
        // The fuzzing may have ended the principal's own session (logout, password change): sign in again, once.
        if (answer.status === 401 && principal.role !== "anonymous") {
          await principal.renew();
          answer = await send(req, principal);
        }
        const problems = checker.check(op, answer);
        if (problems.length)
          throw new Error(`${op.id} as ${principal.role}: ${problems.join("; ")}\n    ${reproduction(req, principal.role)}`);
      });
      const result = await fc.check(property, { numRuns, seed: SEED + index });
      if (!result.failed) return;
      const failure =
        `${result.errorInstance instanceof Error ? result.errorInstance.message : String(result.errorInstance)}\n` +
        `    (shrunk ${result.numShrinks} times; replay: FUZZ_SEED=${SEED}, seed ${SEED + index}, path "${result.counterexamplePath}")`;
      failures.push(failure);
      console.error(failure); // at once: a run that then times out still says what it found
    };

    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let i = next++; i < runs.length; i = next++) await fuzz(runs[i]!, i);
      }),
    );

    const seconds = (Date.now() - started) / 1000;
    const summary = [...statuses.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${k}: ${n}`);
    console.log(`${sent} requests in ${seconds.toFixed(1)} s (${Math.round(sent / seconds)}/s)\n${summary.join("\n")}`);
    expect(failures).toEqual([]);
    expect(sent).toBeGreaterThanOrEqual(TOTAL);
    // Every role reached the handlers: some answers were successes.
    for (const role of ["anonymous", "user", "admin"]) expect([...statuses.keys()].some((k) => k.startsWith(`${role} 2`))).toBe(true);
  }, 300_000); // ~1 minute on an idle machine; the margin is for a loaded one
});

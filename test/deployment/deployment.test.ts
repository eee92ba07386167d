/**
 * The deployment descriptors agree with the code, without a Docker engine:
 *
 * - docker-compose.yml validates (`docker-compose config`, Debian's 1.29, installed by .ci/run)
 *   and runs exactly the roles of scripts/support/cluster.ts from one image and one command, each waiting
 *   for healthy dependencies and the migration; it sets only variables lib/config.ts reads and
 *   .env.example documents, every node's environment is a valid configuration, and nothing
 *   stops `--scale` (no container_name, no host port but the gateway's). Skipped loudly
 *   without docker-compose, unless REQUIRE_SERVICES=1.
 * - deployment/Dockerfile: a pinned Node base, npm ci with the allowScripts policy, a runtime
 *   stage without dev dependencies, non-root, with a HEALTHCHECK, tini and OCI labels; the
 *   build context (.dockerignore) keeps what the image runs and drops secrets. hadolint also
 *   lints it where it is installed (neither Debian nor npm packages it, so usually it is not).
 * - The ECS task definitions and the Heroku Procfile cover the same roles with the same image
 *   and a configuration production accepts.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { LOCAL_CLUSTER } from "../../scripts/support/cluster.ts";
import { ALL_SERVICES, loadConfig } from "../../lib/config.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8");

/** Read by the AWS SDK's credential chain, not by lib/config.ts; .env.example mentions them. */
const SDK_VARIABLES = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"];
/** Variables that carry credentials: never plain environment in a task definition. */
const SECRET_VARIABLES = ["DATABASE_URL", "TRANSPORTER", "CACHER", "RATE_LIMIT_STORE", "JWT_SECRET", "SECRETS_KEY", "SMTP_URL"];

const CLUSTER_ROLES = [...new Set(LOCAL_CLUSTER.map((n) => n.services))].sort();

/** Every variable lib/config.ts reads: recorded while it reads an embedded and a full cluster environment. */
function configVariables(): Set<string> {
  const seen = new Set<string>();
  const recording = (values: Record<string, string>) =>
    new Proxy(values, {
      get(target, key) {
        if (typeof key === "string") seen.add(key);
        return typeof key === "string" ? target[key] : undefined;
      },
    });
  loadConfig(recording({}));
  loadConfig(
    recording({
      TRANSPORTER: "amqp://rabbitmq:5672",
      DATABASE_URL: "postgres://postgres:5432/shop",
      CACHER: "redis://redis:6379",
      RATE_LIMIT_STORE: "redis://redis:6379",
      SMTP_URL: "smtp://mailpit:1025",
      S3_BUCKET: "shop",
      S3_ENDPOINT: "http://minio:9000",
      APP_URL: "http://localhost:3000",
    }),
  );
  return seen;
}
const CONFIG_VARIABLES = configVariables();

const ENV_EXAMPLE = read(".env.example");
const DOCUMENTED = new Set([...ENV_EXAMPLE.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!));
const documented = (name: string) => DOCUMENTED.has(name) || (SDK_VARIABLES.includes(name) && ENV_EXAMPLE.includes(name));
const readByConfig = (name: string) => CONFIG_VARIABLES.has(name) || SDK_VARIABLES.includes(name);

// ---------------------------------------------------------------------------------------
// docker-compose.yml

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string | null>;
  env_file?: unknown;
  profiles?: string[];
  ports?: (string | { target: number; published?: number | string; host_ip?: string })[];
  container_name?: string;
  depends_on?: Record<string, { condition: string }> | string[];
  healthcheck?: { test?: string[] | string; disable?: boolean };
}

function has(command: string): boolean {
  return spawnSync(command, ["--version"], { stdio: "ignore" }).status === 0;
}
const composeInstalled = spawnSync("docker-compose", ["version"], { stdio: "ignore" }).status === 0;
if (!composeInstalled && process.env.REQUIRE_SERVICES === "1") {
  throw new Error("REQUIRE_SERVICES=1 and docker-compose is not installed (apt-get install -y --no-install-recommends docker-compose).");
}
if (!composeInstalled)
  console.warn(
    "\n*** SKIPPED: docker-compose is not installed (apt-get install docker-compose); docker-compose.yml is not validated. ***\n",
  );

/**
 * `docker-compose config` as the project would run it after `cp .env.example .env`, isolated
 * from this shell and from a developer's own .env: .env.example feeds both the interpolation
 * (--env-file) and the containers (SHOP_ENV_FILE, the compose file's env_file).
 */
function composeConfig(...extra: string[]) {
  const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? os.tmpdir(), SHOP_ENV_FILE: ".env.example" };
  return spawnSync("docker-compose", ["--env-file", ".env.example", "-f", "docker-compose.yml", "config", ...extra], {
    cwd: ROOT,
    env,
    encoding: "utf8",
  });
}

/** The resolved configuration as data: YAML through python3-yaml (a dependency of Debian's docker-compose), else compose v2's JSON. */
function resolvedCompose(yamlText: string): { services: Record<string, ComposeService> } {
  const py = spawnSync("python3", ["-c", "import sys, json, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)"], {
    input: yamlText,
    encoding: "utf8",
  });
  if (py.status === 0) return JSON.parse(py.stdout);
  const v2 = composeConfig("--format", "json");
  if (v2.status === 0) return JSON.parse(v2.stdout);
  throw new Error(
    `cannot parse docker-compose config output: python3 with PyYAML is missing (${py.stderr.trim()}) ` +
      `and this docker-compose has no --format json`,
  );
}

const commandOf = (s: ComposeService) => (Array.isArray(s.command) ? s.command : (s.command ?? "").split(/\s+/));
const isNode = (s: ComposeService) => commandOf(s).includes("server.ts");
const dependsOn = (s: ComposeService) => (Array.isArray(s.depends_on) ? {} : (s.depends_on ?? {}));
const hostPorts = (s: ComposeService) =>
  (s.ports ?? []).map((p) => {
    if (typeof p !== "string") return { hostIp: p.host_ip ?? "", target: Number(p.target), published: p.published };
    const [spec = ""] = p.split("/");
    const parts = spec.split(":");
    return {
      hostIp: parts.length === 3 ? parts[0]! : "",
      target: Number(parts.at(-1)),
      published: parts.length > 1 ? parts.at(-2) : undefined,
    };
  });

(composeInstalled ? describe : describe.skip)("docker-compose.yml", () => {
  let services: Record<string, ComposeService> = {};
  let nodes: [string, ComposeService][] = [];
  const roleOf = (s: ComposeService) => String(s.environment?.SERVICES ?? "");

  beforeAll(() => {
    const result = composeConfig();
    if (result.status !== 0) throw new Error(`docker-compose config failed:\n${result.stderr}`);
    services = resolvedCompose(result.stdout).services;
    nodes = Object.entries(services).filter(([, s]) => isNode(s));
  });

  test("`docker-compose config` validates it, with a default for every interpolated variable", () => {
    const result = composeConfig("--quiet");
    expect(result.stderr).not.toMatch(/variable is not set|warn/i);
    expect(result.status).toBe(0);
    // No profiles: `docker compose up` starts the whole shop.
    expect(composeConfig("--profiles").stdout.split("\n").filter(Boolean)).toEqual([]);
  });

  test("the nodes started by default are the roles of scripts/support/cluster.ts, one service each", () => {
    const byDefault = nodes.map(([, s]) => roleOf(s));
    expect([...byDefault].sort()).toEqual(CLUSTER_ROLES);
    expect(new Set(byDefault).size).toBe(byDefault.length);
    // The gateway's readiness waits for every service of ALL_SERVICES: each needs a node.
    for (const service of ALL_SERVICES)
      expect({ service, started: byDefault.some((r) => r.split(",").includes(service)) }).toEqual({ service, started: true });
  });

  test("every node runs the same image, build and command, and waits for healthy dependencies and the migration", () => {
    const [, first] = nodes[0]!;
    for (const [name, s] of nodes) {
      expect({ name, image: s.image, build: s.build, command: commandOf(s) }).toEqual({
        name,
        image: first.image,
        build: first.build,
        command: ["node", "server.ts"],
      });
      const deps = dependsOn(s);
      expect({ name, migrate: deps.migrate?.condition }).toEqual({ name, migrate: "service_completed_successfully" });
      for (const infra of ["postgres", "rabbitmq"])
        expect({ name, infra, condition: deps[infra]?.condition }).toEqual({ name, infra, condition: "service_healthy" });
      for (const [dep, { condition }] of Object.entries(deps)) {
        if (condition === "service_healthy")
          expect({ dep, healthcheck: Boolean(services[dep]?.healthcheck?.test) }).toEqual({ dep, healthcheck: true });
      }
      expect({ name, healthcheck: services[name]!.healthcheck?.test }).toEqual({
        name,
        healthcheck: ["CMD", "node", "deployment/healthcheck.ts"],
      });
    }
    const migrate = services.migrate!;
    expect({ image: migrate.image, build: migrate.build, command: commandOf(migrate) }).toEqual({
      image: first.image,
      build: first.build,
      command: ["node", "scripts/migrate.ts"],
    });
  });

  test("node definitions come from the x-node anchor, not copies", () => {
    const raw = read("docker-compose.yml");
    expect(raw).toMatch(/^x-node: &node$/m);
    const anchored = [...raw.matchAll(/^ {2}([\w-]+):.*\n {4}<<: \*node$/gm)].map((m) => m[1]).sort();
    expect(anchored).toEqual(nodes.map(([name]) => name).sort());
  });

  test("nodes set only variables lib/config.ts reads, documented in .env.example", () => {
    for (const [name, s] of nodes) {
      const names = Object.keys(s.environment ?? {});
      expect({ name, unknown: names.filter((n) => !readByConfig(n)) }).toEqual({ name, unknown: [] });
      expect({ name, undocumented: names.filter((n) => !documented(n)) }).toEqual({ name, undocumented: [] });
    }
  });

  test("every node's environment is a configuration the node accepts, pointing at the compose services", () => {
    for (const [name, s] of nodes) {
      const env = Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, v ?? ""]));
      const cfg = loadConfig(env);
      expect({ name, services: cfg.services }).toEqual({ name, services: roleOf(s).split(",") });
      expect({ name, transporter: cfg.transporter && new URL(cfg.transporter.url).hostname }).toEqual({ name, transporter: "rabbitmq" });
      expect({ name, database: cfg.database.dialect === "postgres" && new URL(cfg.database.url).hostname }).toEqual({
        name,
        database: "postgres",
      });
      expect({ name, cacher: cfg.cacher?.type === "redis" && new URL(cfg.cacher.url).hostname }).toEqual({ name, cacher: "redis" });
      if (cfg.services.includes("mail"))
        expect({ name, smtp: cfg.mail.smtpUrl && new URL(cfg.mail.smtpUrl).hostname }).toEqual({ name, smtp: "mailpit" });
      for (const host of ["rabbitmq", "postgres", "redis"]) expect(services[host]).toBeDefined();
    }
  });

  test("nothing stops --scale: no container_name, no host port on a node but the gateway's", () => {
    for (const [name, s] of Object.entries(services))
      expect({ name, container_name: s.container_name }).toEqual({ name, container_name: undefined });
    for (const [name, s] of nodes) {
      const ports = hostPorts(s);
      if (roleOf(s) === "api")
        expect(ports.map((p) => p.target)).toEqual([
          loadConfig(Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, v ?? ""]))).http.port,
        ]);
      else expect({ name, ports }).toEqual({ name, ports: [] });
    }
    // Management UIs (default credentials) answer on this machine only.
    for (const [name, s] of Object.entries(services).filter(([, s]) => !isNode(s))) {
      for (const p of hostPorts(s)) expect({ name, hostIp: p.hostIp }).toEqual({ name, hostIp: "127.0.0.1" });
    }
  });
});

/** `docker-compose config` of docker-compose.yml with the 3-node RabbitMQ override (docker-compose.rabbitmq-cluster.yml). */
function clusterComposeConfig(...extra: string[]) {
  const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? os.tmpdir(), SHOP_ENV_FILE: ".env.example" };
  const args = ["--env-file", ".env.example", "-f", "docker-compose.yml", "-f", "docker-compose.rabbitmq-cluster.yml", "config", ...extra];
  return spawnSync("docker-compose", args, { cwd: ROOT, env, encoding: "utf8" });
}

(composeInstalled ? describe : describe.skip)("docker-compose.rabbitmq-cluster.yml (optional 3-node RabbitMQ)", () => {
  let services: Record<string, ComposeService & { hostname?: string; volumes?: unknown[] }> = {};

  beforeAll(() => {
    const result = clusterComposeConfig();
    if (result.status !== 0) throw new Error(`docker-compose config failed:\n${result.stderr}`);
    services = resolvedCompose(result.stdout).services;
  });

  test("validates on top of docker-compose.yml, with a default for every interpolated variable", () => {
    const result = clusterComposeConfig("--quiet");
    expect(result.stderr).not.toMatch(/variable is not set|warn/i);
    expect(result.status).toBe(0);
  });

  test("three RabbitMQ 4.x nodes with their own names and data, sharing one cookie and the cluster config", () => {
    const brokers = ["rabbitmq", "rabbitmq-2", "rabbitmq-3"].map((name) => [name, services[name]!] as const);
    const cookies = new Set<string>();
    for (const [name, s] of brokers) {
      expect({ name, image: s.image }).toEqual({ name, image: expect.stringMatching(/^rabbitmq:4\.\d+(\.\d+)?-management-alpine$/) });
      expect({ name, hostname: s.hostname }).toEqual({ name, hostname: name });
      expect({ name, healthcheck: Boolean(s.healthcheck?.test) }).toEqual({ name, healthcheck: true });
      const volumes = JSON.stringify(s.volumes);
      expect(volumes).toContain("cluster.conf");
      cookies.add(String(s.environment?.RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS));
      expect(s.environment?.RABBITMQ_CTL_ERL_ARGS).toBe(s.environment?.RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS);
    }
    expect(cookies.size).toBe(1);
    const conf = read("deployment/rabbitmq-cluster/cluster.conf");
    for (const [name] of brokers) expect(conf).toContain(`rabbit@${name}`);
  });

  test("every shop node's TRANSPORTER lists the three nodes, and its configuration accepts it", () => {
    const nodes = Object.entries(services).filter(([, s]) => isNode(s));
    expect(nodes.map(([, s]) => String(s.environment?.SERVICES)).sort()).toEqual(CLUSTER_ROLES);
    for (const [name, s] of nodes) {
      const cfg = loadConfig(Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, v ?? ""])));
      expect({ name, hosts: cfg.transporter?.urls.map((u) => new URL(u).hostname) }).toEqual({
        name,
        hosts: ["rabbitmq", "rabbitmq-2", "rabbitmq-3"],
      });
    }
  });
});

// ---------------------------------------------------------------------------------------
// deployment/Dockerfile

interface Instruction {
  keyword: string;
  args: string;
}
interface Stage {
  name: string;
  from: string;
  instructions: Instruction[];
}

/** Instructions with continuation lines joined, comments dropped; ARGs before the first FROM substituted into FROM. */
function parseDockerfile(text: string): { stages: Stage[]; globalArgs: Record<string, string> } {
  const lines = text.replace(/\\\r?\n/g, " ").split(/\r?\n/);
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of lines) {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith("#")) continue;
    const [, keyword = "", args = ""] = /^(\w+)\s*(.*)$/.exec(trimmed) ?? [];
    const kw = keyword.toUpperCase();
    if (kw === "FROM") {
      const [image = "", , name] = args.split(/\s+/);
      const from = image.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a, b) => globalArgs[a ?? b] ?? "");
      stages.push({ name: (name ?? String(stages.length)).toLowerCase(), from, instructions: [] });
    } else if (stages.length === 0 && kw === "ARG") {
      const [k = "", v = ""] = args.split("=", 2);
      globalArgs[k] = v;
    } else {
      stages.at(-1)?.instructions.push({ keyword: kw, args });
    }
  }
  return { stages, globalArgs };
}

/** A minimal .dockerignore matcher (Docker's rules: last match wins, `!` re-includes, a matched folder takes its contents). */
function dockerignored(patterns: string[], file: string): boolean {
  const toRegex = (p: string) =>
    new RegExp(
      "^" +
        p
          .replace(/^\/+/, "")
          .replace(/[.+^${}()|[\]\\]/g, "\\$&")
          .replace(/\*\*/g, "\u0000")
          .replace(/\*/g, "[^/]*")
          .replace(/\?/g, "[^/]")
          .replace(/\u0000/g, ".*") +
        "(/.*)?$",
    );
  let ignored = false;
  for (const raw of patterns) {
    const negate = raw.startsWith("!");
    if (toRegex(negate ? raw.slice(1) : raw).test(file)) ignored = !negate;
  }
  return ignored;
}

describe("deployment/Dockerfile", () => {
  const text = read("deployment/Dockerfile");
  const { stages } = parseDockerfile(text);
  const final = stages.at(-1)!;
  const finalOf = (kw: string) => final.instructions.filter((i) => i.keyword === kw);

  test("every base image is the official Node image of .nvmrc's major, pinned to a full version", () => {
    const major = read(".nvmrc").trim();
    const external = stages.filter((s) => !stages.some((o) => o.name === s.from.toLowerCase()));
    expect(external.length).toBeGreaterThan(0);
    for (const { from } of external) expect(from).toMatch(new RegExp(`^node:${major}\\.\\d+\\.\\d+-[a-z]+-slim$`));
  });

  test("installs with npm ci and the allowScripts policy; the runtime stage has production dependencies only", () => {
    const runs = stages.flatMap((s) => s.instructions.filter((i) => i.keyword === "RUN").map((i) => ({ stage: s.name, cmd: i.args })));
    const installs = runs.filter((r) => /\bnpm (ci|install|i)\b(?! -g)/.test(r.cmd));
    expect(installs.length).toBeGreaterThan(0);
    for (const r of installs) expect(r.cmd).toMatch(/npm ci\b[^&;]*--strict-allow-scripts/);
    // Nothing installs in the runtime stage; its node_modules is a copy of an --omit=dev install.
    expect(installs.filter((r) => r.stage === final.name)).toEqual([]);
    const copy = finalOf("COPY").find((i) => /\s\.?\/?(app\/)?node_modules\/?$/.test(i.args));
    expect(copy?.args).toMatch(/--from=(\S+)\s+(\S+)/);
    const [, fromStage = "", source = ""] = /--from=(\S+)\s+(\S+)/.exec(copy!.args) ?? [];
    const producer = runs.find((r) => r.stage === fromStage.toLowerCase() && r.cmd.includes(source));
    expect(producer?.cmd).toMatch(/npm ci --omit=dev\b/);
  });

  test("the runtime stage: production mode, non-root, a health check, tini, SIGTERM, OCI labels", () => {
    expect(
      finalOf("ENV")
        .map((i) => i.args)
        .join(" "),
    ).toMatch(/\bNODE_ENV=production\b/);
    const user = finalOf("USER").at(-1)?.args.split(":")[0];
    expect(user).toBeDefined();
    expect(["root", "0"]).not.toContain(user);
    const healthcheck = finalOf("HEALTHCHECK").at(-1)?.args ?? "";
    expect(healthcheck).toMatch(/CMD \["node", "deployment\/healthcheck\.ts"\]/);
    expect(fs.existsSync(path.join(ROOT, "deployment/healthcheck.ts"))).toBe(true);
    expect(finalOf("STOPSIGNAL").at(-1)?.args).toBe("SIGTERM");
    expect(finalOf("ENTRYPOINT").at(-1)?.args).toMatch(/tini/);
    expect(finalOf("CMD").at(-1)?.args).toBe('["node", "server.ts"]');
    const labels = finalOf("LABEL")
      .map((i) => i.args)
      .join(" ");
    for (const key of ["title", "description", "version", "revision", "created", "licenses"])
      expect(labels).toContain(`org.opencontainers.image.${key}=`);
  });

  test("the runtime stage fills Node's compile cache as the user that runs the nodes, then makes it read-only", () => {
    const env = finalOf("ENV")
      .map((i) => i.args)
      .join(" ");
    expect(env).toMatch(/\bNODE_COMPILE_CACHE=\/\S+/);
    // Node keeps one cache per user (its folder's name ends in the uid): filled as root, the nodes would never read it.
    let user = "root";
    const runs: { user: string; cmd: string }[] = [];
    for (const i of final.instructions) {
      if (i.keyword === "USER") user = i.args.split(":")[0]!;
      if (i.keyword === "RUN") runs.push({ user, cmd: i.args });
    }
    const warm = runs.findIndex((r) => r.cmd === "node scripts/warm-compile-cache.ts");
    expect(warm).toBeGreaterThan(-1);
    expect(runs[warm]!.user).toBe(finalOf("USER").at(-1)!.args.split(":")[0]);
    const sealed = runs.slice(warm + 1).find((r) => r.cmd.includes('chown -R root:root "$NODE_COMPILE_CACHE"'));
    expect(sealed).toMatchObject({ user: "root", cmd: expect.stringMatching(/chmod -R a\+rX,go-w "\$NODE_COMPILE_CACHE"/) });
    expect(fs.existsSync(path.join(ROOT, "scripts/warm-compile-cache.ts"))).toBe(true);
  });

  test(".dockerignore keeps what the image runs and leaves out dependencies, data, git and secrets", () => {
    const patterns = read(".dockerignore")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith("#"));
    for (const gone of [
      "node_modules/x/index.js",
      "data/shop.sqlite",
      ".git/config",
      "coverage/lcov.info",
      ".env",
      ".env.production",
      "test/unit/lib/config.test.ts",
    ]) {
      expect({ gone, ignored: dockerignored(patterns, gone) }).toEqual({ gone, ignored: true });
    }
    const needed = [
      "package.json",
      "package-lock.json",
      "tsconfig.json",
      "server.ts",
      "moleculer.config.ts",
      "lib/config.ts",
      "services/api.service.ts",
      "scripts/migrate.ts",
      "scripts/warm-compile-cache.ts",
      "deployment/healthcheck.ts",
    ];
    needed.push(...fs.readdirSync(path.join(ROOT, "migrations")).map((f) => `migrations/${f}`));
    for (const kept of needed) expect({ kept, ignored: dockerignored(patterns, kept) }).toEqual({ kept, ignored: false });
  });

  if (has("hadolint")) {
    test("hadolint finds nothing at warning level", () => {
      const result = spawnSync("hadolint", ["--failure-threshold", "warning", path.join(ROOT, "deployment/Dockerfile")], {
        encoding: "utf8",
      });
      expect(result.stdout + result.stderr).toBe("");
      expect(result.status).toBe(0);
    });
  }
});

// ---------------------------------------------------------------------------------------
// ECS task definitions and Heroku

interface TaskDefinition {
  family: string;
  requiresCompatibilities: string[];
  networkMode: string;
  containerDefinitions: {
    image: string;
    command?: string[];
    essential?: boolean;
    portMappings?: { containerPort: number }[];
    environment?: { name: string; value: string }[];
    secrets?: { name: string; valueFrom: string }[];
    healthCheck?: { command: string[] };
  }[];
}

describe("deployment/aws/task-definitions", () => {
  const dir = path.join(ROOT, "deployment/aws/task-definitions");
  const definitions = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .map((f) => ({ file: f, td: JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")) as TaskDefinition }));
  const container = (td: TaskDefinition) => td.containerDefinitions[0]!;
  const envOf = (td: TaskDefinition) => Object.fromEntries((container(td).environment ?? []).map((e) => [e.name, e.value]));

  test("one Fargate task definition per role of scripts/support/cluster.ts, all from the same image and command", () => {
    expect(definitions.map((d) => envOf(d.td).SERVICES).sort()).toEqual(CLUSTER_ROLES);
    for (const { file, td } of definitions) {
      expect({ file, role: envOf(td).SERVICES }).toEqual({ file, role: file.replace(/\.json$/, "") });
      expect(td.requiresCompatibilities).toEqual(["FARGATE"]);
      expect(td.networkMode).toBe("awsvpc");
      expect(td.containerDefinitions).toHaveLength(1);
      expect(container(td).image).toBe(container(definitions[0]!.td).image);
      expect(container(td).command).toEqual(["node", "server.ts"]);
      expect(container(td).healthCheck?.command.slice(0, 3)).toEqual(["CMD", "node", "deployment/healthcheck.ts"]);
    }
    const api = definitions.find((d) => envOf(d.td).SERVICES === "api")!;
    expect(container(api.td).portMappings?.map((p) => p.containerPort)).toContain(3000);
  });

  test("variables are ones lib/config.ts reads; credentials come from Secrets Manager; production accepts the result", () => {
    for (const { file, td } of definitions) {
      const env = envOf(td);
      const secrets = (container(td).secrets ?? []).map((s) => s.name);
      expect({ file, unknown: [...Object.keys(env), ...secrets].filter((n) => !readByConfig(n)) }).toEqual({ file, unknown: [] });
      expect({ file, plain: Object.keys(env).filter((n) => SECRET_VARIABLES.includes(n)) }).toEqual({ file, plain: [] });
      for (const s of container(td).secrets ?? [])
        expect(s.valueFrom).toMatch(/^arn:aws:secretsmanager:[^:]+:[^:]+:secret:[^:]+:[A-Z_]+::$/);
      // Stand-ins for the secrets' values, as the managed services write them.
      const stand: Record<string, string> = {
        DATABASE_URL: "postgres://shop:pw@shop.abc.eu-west-1.rds.amazonaws.com:5432/shop?sslmode=require",
        TRANSPORTER: "amqps://shop:pw@b-1234.mq.eu-west-1.amazonaws.com:5671",
        CACHER: "rediss://:token@master.shop.abc.euw1.cache.amazonaws.com:6379",
        JWT_SECRET: "j".repeat(48),
        SECRETS_KEY: "k".repeat(48),
        SMTP_URL: "smtps://user:pw@email-smtp.eu-west-1.amazonaws.com:465",
      };
      const cfg = loadConfig({ ...env, ...Object.fromEntries(secrets.map((n) => [n, stand[n] ?? "x"])) });
      expect({ file, env: cfg.env, services: cfg.services }).toEqual({ file, env: "production", services: [env.SERVICES] });
    }
  });
});

describe("deployment/Procfile (Heroku)", () => {
  const processes = Object.fromEntries(
    read("deployment/Procfile")
      .split("\n")
      .filter(Boolean)
      .map((l) => /^([\w-]+):\s*(.+)$/.exec(l)!.slice(1, 3) as [string, string]),
  );

  test("web is the gateway, one worker process type per service node, release migrates", () => {
    expect(processes.web).toBe("sh deployment/heroku-run.sh api");
    expect(processes.release).toBe("sh deployment/heroku-run.sh migrate");
    const roles = Object.entries(processes)
      .filter(([type]) => type !== "release")
      .map(([, cmd]) => cmd.split(" ").at(-1));
    expect(roles.sort()).toEqual(CLUSTER_ROLES);
  });

  test("the guide, followed as written, starts every role: each process type is scaled, each service named", () => {
    // A role nobody scales leaves the gateway's readiness at 503 (its service is not discovered).
    const guide = read("deployment/heroku.md");
    const scale = /heroku ps:scale ([^\n#]+)/.exec(guide)?.[1] ?? "";
    const scaled = Object.fromEntries(
      scale
        .trim()
        .split(/\s+/)
        .map((s) => s.split("=") as [string, string]),
    );
    const workers = Object.keys(processes).filter((type) => type !== "release");
    expect(Object.keys(scaled).sort()).toEqual(workers.sort());
    expect(Object.entries(scaled).filter(([, n]) => !(Number(n) >= 1))).toEqual([]);
    for (const service of ALL_SERVICES.filter((s) => s !== "api")) expect(guide).toContain(`\`${service}\``);
    // The storage dynos need a bucket: the add-on is created and mapped.
    expect(guide).toMatch(/heroku addons:create bucketeer/);
    expect(read("deployment/heroku-run.sh")).toContain("BUCKETEER_BUCKET_NAME");
  });

  test(".env.example and the deployment guide name every service SERVICES may hold", () => {
    const line = read(".env.example")
      .split("\n")
      .find((l) => l.startsWith("# Which services this node runs"))!;
    expect(line).toContain(ALL_SERVICES.join(","));
    expect(read("deployment/README.md")).toMatch(new RegExp(ALL_SERVICES.map((s) => `\`${s}\``).join(",\\s+")));
  });

  test("heroku-run.sh maps the add-ons' variables and starts the role", () => {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), "shop-heroku-"));
    try {
      // A stand-in for node that prints what it was started with.
      fs.writeFileSync(
        path.join(bin, "node"),
        '#!/bin/sh\necho "$* SERVICES=${SERVICES:-} DATABASE_URL=$DATABASE_URL TRANSPORTER=$TRANSPORTER"\n',
        { mode: 0o755 },
      );
      const run = (role: string, env: Record<string, string>) =>
        spawnSync("sh", ["deployment/heroku-run.sh", role], { cwd: ROOT, env: { PATH: `${bin}:/usr/bin:/bin`, ...env }, encoding: "utf8" });
      const addons = {
        DATABASE_URL: "postgres://u:p@ec2.compute.amazonaws.com:5432/d1",
        CLOUDAMQP_URL: "amqps://u:p@goose.rmq.cloudamqp.com/vhost",
      };
      expect(run("products", addons).stdout.trim()).toBe(
        "server.ts SERVICES=products DATABASE_URL=postgres://u:p@ec2.compute.amazonaws.com:5432/d1?sslmode=require " +
          "TRANSPORTER=amqps://u:p@goose.rmq.cloudamqp.com/vhost",
      );
      expect(
        run("migrate", { ...addons, DATABASE_URL: "postgres://h/d?sslmode=verify-full", TRANSPORTER: "amqp://own" }).stdout.trim(),
      ).toBe("scripts/migrate.ts SERVICES= DATABASE_URL=postgres://h/d?sslmode=verify-full TRANSPORTER=amqp://own");
    } finally {
      fs.rmSync(bin, { recursive: true, force: true });
    }
  });
});

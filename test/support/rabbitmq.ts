/**
 * Private RabbitMQ nodes for fault tests: each with its own node name, AMQP and distribution
 * ports, data and log folders and config file (`listeners.tcp.local = 127.0.0.1:PORT`; the
 * system's config pins 5672), an enabled-plugins file `[].`, folders owned by the rabbitmq
 * user. Started with `rabbitmq-server -detached` and awaited with `rabbitmqctl wait`; three
 * of them joined into a cluster with stop_app / reset / join_cluster / start_app. Never the
 * shared broker on 5672: every command names its node (`-n`), and `destroy` stops the nodes
 * and deletes their folders.
 *
 * Needs the Debian rabbitmq-server package and root (rabbitmqctl runs as the rabbitmq user and
 * shares its Erlang cookie). `rabbitmqAvailable()` says whether this machine can do it.
 */
import { execFile, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { randomBytes } from "node:crypto";
import { freePort } from "../../scripts/support/free-port.ts";
import { reachable } from "./servers.ts";
import { until } from "../../scripts/support/until.ts";

const run = promisify(execFile);

/** Ports RabbitMQ's CLI tools take for their own distribution (35672-35682): never give them to a node. */
const CLI_PORTS = { from: 35672, to: 35682 };

async function nodePort(taken: Set<number>): Promise<number> {
  for (;;) {
    const port = await freePort();
    if ((port < CLI_PORTS.from || port > CLI_PORTS.to) && !taken.has(port)) {
      taken.add(port);
      return port;
    }
  }
}

export function rabbitmqAvailable(): boolean {
  const installed = spawnSync("sh", ["-c", "command -v rabbitmq-server && command -v rabbitmqctl"], { stdio: "ignore" }).status === 0;
  return process.getuid?.() === 0 && installed;
}

export interface RabbitNode {
  /** e.g. shop-fault-1a2b3c-1@localhost */
  name: string;
  port: number;
  distPort: number;
  dir: string;
  /** amqp://guest:guest@127.0.0.1:PORT */
  url: string;
  /** With `tls`: amqps://guest:guest@localhost:TLS_PORT, its certificate signed by `caFile`'s CA. */
  tlsUrl?: string;
  caFile?: string;
}

/**
 * A CA and a server certificate for `localhost` (and 127.0.0.1) signed by it, made with openssl
 * in `dir`: what a TLS listener needs, and the CA a client must trust (NODE_EXTRA_CA_CERTS).
 */
function makeCertificates(dir: string): { ca: string; cert: string; key: string } {
  const file = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => {
    const r = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
  };
  openssl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "2",
    "-subj",
    "/CN=shop test CA",
    "-keyout",
    file("ca.key"),
    "-out",
    file("ca.pem"),
  );
  openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", file("server.key"), "-out", file("server.csr"));
  fs.writeFileSync(file("san.ext"), "subjectAltName = DNS:localhost, IP:127.0.0.1\n");
  openssl(
    "x509",
    "-req",
    "-in",
    file("server.csr"),
    "-CA",
    file("ca.pem"),
    "-CAkey",
    file("ca.key"),
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    file("san.ext"),
    "-out",
    file("server.pem"),
  );
  return { ca: file("ca.pem"), cert: file("server.pem"), key: file("server.key") };
}

export interface RabbitCluster {
  nodes: RabbitNode[];
  /** The nodes' URLs as a TRANSPORTER list. */
  urls: string;
  start(node: RabbitNode): Promise<void>;
  /** Graceful stop of the whole node (its Erlang VM). */
  stop(node: RabbitNode): Promise<void>;
  /** SIGSTOP its Erlang VM: connections stay open and nothing answers; `thaw` lets it go on. */
  freeze(node: RabbitNode): void;
  thaw(node: RabbitNode): void;
  ctl(node: RabbitNode, ...args: string[]): Promise<string>;
  /** `rabbitmqctl list_queues` on `node`: name, type, leader (quorum), members. */
  queues(node: RabbitNode): Promise<{ name: string; type: string; leader?: string; members?: string[]; messages: number }[]>;
  destroy(): Promise<void>;
}

function envOf(node: RabbitNode): NodeJS.ProcessEnv {
  return {
    ...process.env,
    RABBITMQ_NODENAME: node.name,
    RABBITMQ_NODE_PORT: String(node.port),
    RABBITMQ_DIST_PORT: String(node.distPort),
    RABBITMQ_CONFIG_FILE: path.join(node.dir, "rabbitmq.conf"),
    RABBITMQ_ENABLED_PLUGINS_FILE: path.join(node.dir, "enabled_plugins"),
    RABBITMQ_MNESIA_BASE: path.join(node.dir, "data"),
    RABBITMQ_LOG_BASE: path.join(node.dir, "log"),
    RABBITMQ_PID_FILE: path.join(node.dir, "pid"),
  };
}

/**
 * `count` private nodes (not started). With `cluster`, `startAll` joins the second and later
 * ones to the first.
 */
export async function createRabbitNodes(count: number, label = "fault", { tls = false }: { tls?: boolean } = {}): Promise<RabbitCluster> {
  const id = `${label}-${randomBytes(3).toString("hex")}`;
  const taken = new Set<number>();
  const nodes: RabbitNode[] = [];
  for (let i = 1; i <= count; i++) {
    const port = await nodePort(taken);
    const distPort = await nodePort(taken);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `shop-rabbit-${id}-${i}-`));
    for (const sub of ["data", "log"]) fs.mkdirSync(path.join(dir, sub));
    // guest may connect from 127.0.0.1 only: that is where the tests are.
    let conf = `listeners.tcp.local = 127.0.0.1:${port}\n`;
    const node: RabbitNode = { name: `shop-${id}-${i}@localhost`, port, distPort, dir, url: `amqp://guest:guest@127.0.0.1:${port}` };
    if (tls) {
      const tlsPort = await nodePort(taken);
      const { ca, cert, key } = makeCertificates(dir);
      conf +=
        `listeners.ssl.default = 127.0.0.1:${tlsPort}\n` +
        `ssl_options.cacertfile = ${ca}\nssl_options.certfile = ${cert}\nssl_options.keyfile = ${key}\n` +
        `ssl_options.verify = verify_none\nssl_options.fail_if_no_peer_cert = false\n`;
      Object.assign(node, { tlsUrl: `amqps://guest:guest@localhost:${tlsPort}`, caFile: ca });
    }
    fs.writeFileSync(path.join(dir, "rabbitmq.conf"), conf);
    fs.writeFileSync(path.join(dir, "enabled_plugins"), "[].\n");
    spawnSync("chown", ["-R", "rabbitmq:rabbitmq", dir]);
    fs.chmodSync(dir, 0o755);
    nodes.push(node);
  }
  const ctl = async (node: RabbitNode, ...args: string[]) =>
    (await run("rabbitmqctl", ["-n", node.name, ...args], { env: envOf(node), cwd: os.tmpdir(), timeout: 120_000 })).stdout;
  const started = new Set<RabbitNode>();
  const signal = (node: RabbitNode, sig: NodeJS.Signals) => {
    const pid = Number(fs.readFileSync(path.join(node.dir, "pid"), "utf8").trim() || 0);
    if (pid) process.kill(pid, sig);
  };
  const cluster: RabbitCluster = {
    nodes,
    urls: nodes.map((n) => n.url).join(";"),
    async start(node) {
      await run("rabbitmq-server", ["-detached"], { env: envOf(node), cwd: os.tmpdir() });
      started.add(node);
      await ctl(node, "wait", path.join(node.dir, "pid"), "--timeout", "90");
      await until(`${node.name} to accept connections`, () => reachable("127.0.0.1", node.port), { timeoutMs: 10_000 });
    },
    async stop(node) {
      await ctl(node, "stop");
      await until(`${node.name} to close its port`, async () => !(await reachable("127.0.0.1", node.port)), { timeoutMs: 10_000 });
    },
    freeze: (node) => signal(node, "SIGSTOP"),
    thaw: (node) => signal(node, "SIGCONT"),
    ctl,
    async queues(node) {
      const out = await ctl(node, "list_queues", "name", "type", "leader", "members", "messages", "--formatter", "json", "--quiet");
      return JSON.parse(out.slice(out.indexOf("["))) as Awaited<ReturnType<RabbitCluster["queues"]>>;
    },
    async destroy() {
      for (const node of nodes) {
        if (!started.has(node)) continue;
        try {
          signal(node, "SIGCONT"); // a test that failed while it was frozen
        } catch {
          /* gone */
        }
        await ctl(node, "stop").catch(() => undefined);
        // Whatever did not stop (a node left half-started) is killed by its pid file.
        try {
          const pid = Number(fs.readFileSync(path.join(node.dir, "pid"), "utf8").trim() || 0);
          if (pid) process.kill(pid, "SIGKILL");
        } catch {
          /* already gone */
        }
      }
      for (const node of nodes) fs.rmSync(node.dir, { recursive: true, force: true });
    },
  };
  return cluster;
}

/** Start every node; the second and later ones join the first (a cluster of `nodes.length`). */
export async function startRabbitCluster(cluster: RabbitCluster): Promise<void> {
  const [first, ...rest] = cluster.nodes;
  await Promise.all(cluster.nodes.map((n) => cluster.start(n)));
  for (const node of rest) {
    await cluster.ctl(node, "stop_app");
    await cluster.ctl(node, "reset");
    await cluster.ctl(node, "join_cluster", first!.name);
    await cluster.ctl(node, "start_app");
  }
  for (const node of cluster.nodes) {
    await until(`${node.name} to accept connections`, () => reachable("127.0.0.1", node.port), { timeoutMs: 10_000 });
  }
}

/**
 * What a remote call over RabbitMQ costs. Two brokers on loopback, each with its own AMQP
 * connection — a "server" hosting `bench.echo` and a "client" calling it — measured for
 * three transporter configurations, against a local in-process call on one broker without
 * a transporter, measured in the same run.
 */
import { ServiceBroker, type BrokerOptions, type ServiceSchema } from "moleculer";
import { amqpTransporter } from "../moleculer.config.ts";
import { deleteNamespace } from "./amqp-cleanup.ts";
import { measure, type Limits, type Measurement } from "./measure.ts";

type Transporter = BrokerOptions["transporter"];

/** Each broker gets a fresh options object: moleculer's transporter rewrites the one it is given. */
const CONFIGS: { name: string; transporter: (url: string) => Transporter }[] = [
  { name: "AMQP, moleculer defaults", transporter: (url) => ({ type: "AMQP", options: { url } }) },
  { name: "AMQP, noDelay only", transporter: (url) => ({ type: "AMQP", options: { url, socketOptions: { noDelay: true } } }) },
  { name: "AMQP, shipped (amqpTransporter)", transporter: (url) => amqpTransporter(url, 100) },
];

const ECHO: ServiceSchema = {
  name: "bench",
  actions: {
    echo(ctx) {
      return ctx.params;
    },
  },
};
/** A small payload, the size of a typical internal call. */
const PARAMS = { id: 42, sku: "SKU-0042", quantity: 3, tags: ["bench", "echo"] };
const REQUEST_TIMEOUT_MS = 5_000;
/** How long brokers may take to connect and discover each other before the run is given up. */
const START_TIMEOUT_MS = 15_000;

export interface Row extends Measurement {
  config: string;
  /** p50 of this configuration divided by the local p50 (1 for the baseline). */
  p50VsLocal: number;
  /** calls/s of this configuration divided by the local calls/s (1 for the baseline). */
  throughputVsLocal: number;
}

function broker(namespace: string, nodeID: string, transporter?: Transporter): ServiceBroker {
  return new ServiceBroker({
    namespace,
    nodeID,
    transporter,
    logger: false,
    requestTimeout: REQUEST_TIMEOUT_MS,
    skipProcessEventRegistration: true,
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function measureLocal(namespace: string, limits: Limits): Promise<Measurement> {
  const local = broker(namespace, "bench-local");
  local.createService(ECHO);
  await local.start();
  try {
    return await measure(() => local.call("bench.echo", PARAMS), limits);
  } finally {
    await local.stop();
  }
}

async function measureRemote(
  url: string,
  namespace: string,
  transporter: (url: string) => Transporter,
  limits: Limits,
): Promise<Measurement> {
  const server = broker(namespace, "bench-server", transporter(url));
  const client = broker(namespace, "bench-client", transporter(url));
  server.createService(ECHO);
  await withTimeout(Promise.all([server.start(), client.start()]), START_TIMEOUT_MS, `Connecting to ${url.replace(/:[^:@/]*@/, ":***@")}`);
  try {
    await client.waitForServices("bench", START_TIMEOUT_MS);
    return await measure(() => client.call("bench.echo", PARAMS), limits);
  } finally {
    await Promise.all([client.stop(), server.stop()]);
    await deleteNamespace(url, namespace, ["bench-server", "bench-client"]);
  }
}

/** Runs the baseline and every configuration; `progress` is told what is being measured. */
export async function amqpLatency(url: string, limits: Limits, progress: (msg: string) => void = () => {}): Promise<Row[]> {
  const run = `bench-${process.pid}-${Date.now().toString(36)}`;
  progress("local (no transporter)");
  const local = await measureLocal(run, limits);
  const results: { config: string; m: Measurement }[] = [{ config: "local (no transporter)", m: local }];
  for (const [i, { name, transporter }] of CONFIGS.entries()) {
    progress(name);
    results.push({ config: name, m: await measureRemote(url, `${run}-${i}`, transporter, limits) });
  }
  return results.map(({ config, m }) => ({
    config,
    ...m,
    p50VsLocal: m.p50 / local.p50,
    throughputVsLocal: m.callsPerSec / local.callsPerSec,
  }));
}

/**
 * Connecting to RabbitMQ when it is a list of nodes (a cluster: `amqp://a;amqp://b;amqp://c`)
 * and may be restarting: the pieces every connection of the shop shares (the Moleculer
 * transporter, durable events, the outbox relays, the REPL and scripts through them).
 *
 *  - `amqpUrls` splits a TRANSPORTER value into its URLs;
 *  - `withHeartbeat` asks for an AMQP heartbeat (unless the URL sets one), so RabbitMQ drops the
 *    connection of a frozen process, and the process notices a dead connection, within seconds;
 *  - `connectAny` tries the URLs in turn, from a given one, and returns the first that answers;
 *  - `reconnectDelay` is the wait before the next round: short, because a restarted broker node
 *    is back in about a second and every request of the shop waits for it.
 */
import amqp from "amqplib";
import type { ChannelModel } from "amqplib";
import { redact } from "../../lib/config.ts";

/**
 * AMQP heartbeat asked for (seconds). RabbitMQ closes a connection that sent nothing for 2-3
 * heartbeats: a frozen process's queues go after 10-15 s with 5 s (4-6 s with 2 s). 2 s was
 * measured faster for a frozen node, but heartbeat frames queue behind data on a saturated link
 * (a large upload over a slow connection to the broker: test/integration/storage.test.ts, transit
 * backpressure), which then cut healthy connections; moleculer's own heartbeat (2 s / 6 s,
 * moleculer.config.ts) takes a frozen node out first anyway.
 */
export const AMQP_HEARTBEAT_S = 5;

/** The URLs of a TRANSPORTER value (or an already split list). */
export function amqpUrls(url: string | string[]): string[] {
  const urls = (Array.isArray(url) ? url : url.split(";")).map((u) => u.trim()).filter(Boolean);
  if (urls.length === 0) throw new Error("No RabbitMQ URL given");
  return urls;
}

/** `url` with `heartbeat=<seconds>` in its query, unless it names one already. */
export function withHeartbeat(url: string, seconds: number = AMQP_HEARTBEAT_S): string {
  if (/[?&]heartbeat=/.test(url)) return url;
  return `${url}${url.includes("?") ? "&" : "?"}heartbeat=${seconds}`;
}

/** The wait before reconnect round `attempt` (0, 1, ...): 250 ms, 500 ms, then 1 s. */
export function reconnectDelay(attempt: number): number {
  return Math.min(1000, 250 * 2 ** attempt);
}

/** A URL for messages: its host and port only (no credentials, no vhost). */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return redact(url);
  }
}

export interface ConnectedTo {
  connection: ChannelModel;
  /** Index in `urls` of the node that answered. */
  index: number;
}

/**
 * Connect to the first of `urls` that answers, trying them in order from `from` (wrapping
 * around); throws the last error (its message names no password) when none answers.
 * TLS (amqps://) checks the certificate against the URL's host name.
 */
export async function connectAny(
  urls: string[],
  from = 0,
  socketOptions: Record<string, unknown> = {},
  heartbeatS = AMQP_HEARTBEAT_S,
): Promise<ConnectedTo> {
  // Named in RabbitMQ's connection list (rabbitmqctl list_connections, the management UI): which process is which.
  const connectionName = (socketOptions.clientProperties as { connection_name?: string } | undefined)?.connection_name;
  let last: Error | undefined;
  for (let i = 0; i < urls.length; i++) {
    const index = (from + i) % urls.length;
    const url = urls[index]!;
    try {
      const servername = new URL(url).hostname;
      const connection = await amqp.connect(withHeartbeat(url, heartbeatS), {
        noDelay: true,
        servername,
        ...socketOptions,
        clientProperties: { connection_name: connectionName ?? `${process.title} ${process.pid}` },
      });
      return { connection, index };
    } catch (err) {
      last = new Error(`${describeUrl(url)}: ${redact((err as Error).message ?? String(err))}`);
    }
  }
  throw last ?? new Error("No RabbitMQ URL given");
}

/**
 * Preloaded into a profiled server (`--import`, bench/profiling.ts): counts what the process
 * sends and receives, so a phase's counts divided by its requests say how many moleculer
 * packets, RabbitMQ messages and SQL statements one request costs.
 *
 *  - moleculer packets sent (Transit#publish) and received (Transit#messageHandler), by type,
 *    with the action of a REQ and the event of an EVENT (and whether it was a broadcast);
 *  - AMQP messages published and delivered (amqplib), by exchange or queue, the namespace
 *    replaced by `<ns>`: moleculer's own traffic and the durable events alike;
 *  - SQL statements (pg Client#query) by their first word (SELECT, INSERT, BEGIN, …).
 *
 * On SIGUSR2 it writes the counts so far to <BENCH_PROBE_DIR>/probe/<node>-<pid>/<mark>.json,
 * the mark being the label in <BENCH_PROBE_DIR>/.mark; once more at exit (`exit.json`).
 * It patches prototypes before any broker or connection exists; it changes no behaviour.
 */
import { createRequire } from "node:module";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

const require = createRequire(path.join(process.cwd(), "noop.js"));
const fromHere = createRequire(import.meta.url);
const dir = process.env.BENCH_PROBE_DIR;
const node = process.env.NODE_ID ?? process.env.BENCH_ROLE ?? "node";
const namespace = process.env.NAMESPACE;

type Counts = Record<string, number>;
const counts = { sent: {} as Counts, received: {} as Counts, amqpPublished: {} as Counts, amqpDelivered: {} as Counts, sql: {} as Counts };
const add = (c: Counts, key: string) => (c[key] = (c[key] ?? 0) + 1);

function load<T>(id: string): T | undefined {
  for (const r of [fromHere, require]) {
    try {
      return r(id) as T;
    } catch {
      /* next */
    }
  }
  return undefined;
}

interface Packet {
  type: string;
  target?: string | null;
  payload?: { action?: string; event?: string; broadcast?: boolean; groups?: string[]; stream?: boolean };
}
function packetKey(type: string, p: Packet["payload"] = {}, target?: string | null): string {
  if (type === "REQ") return `REQ ${p.action}${p.stream ? " (stream)" : ""}`;
  if (type === "EVENT") return `EVENT ${p.event}${p.broadcast ? " broadcast" : ""}${target ? "" : " (no target)"}`;
  return type;
}

const moleculer = load<{ Transit: { prototype: Record<string, (...args: any[]) => any> } }>("moleculer");
if (moleculer) {
  const proto = moleculer.Transit.prototype;
  const publish = proto.publish!;
  proto.publish = function (this: unknown, packet: Packet, ...rest: unknown[]) {
    add(counts.sent, packetKey(packet.type, packet.payload, packet.target));
    return publish.call(this, packet, ...rest);
  };
  const handle = proto.messageHandler!;
  proto.messageHandler = function (this: unknown, cmd: string, packet: Packet, ...rest: unknown[]) {
    add(counts.received, packetKey(cmd, packet?.payload, "x"));
    return handle.call(this, cmd, packet, ...rest);
  };
}

const topic = (name: string) => {
  let s = name;
  if (namespace) s = s.split(namespace).join("<ns>");
  return s
    .replace(/\.[A-Za-z]+-\d+$/, ".<node>")
    .replace(/\.(api|users|products|orders|mail|storage|embedded|gateway|service)-[\w-]+$/, ".<node>");
};
const channels = load<{ Channel: { prototype: Record<string, (...args: any[]) => any> } }>("amqplib/lib/channel_model.js");
if (channels) {
  const publish = channels.Channel.prototype.publish!;
  channels.Channel.prototype.publish = function (this: unknown, exchange: string, routingKey: string, ...rest: unknown[]) {
    add(counts.amqpPublished, exchange ? `exchange ${topic(exchange)}` : `queue ${topic(routingKey)}`);
    return publish.call(this, exchange, routingKey, ...rest);
  };
}
const base = load<{ BaseChannel: { prototype: Record<string, (...args: any[]) => any> } }>("amqplib/lib/channel.js");
if (base) {
  const dispatch = base.BaseChannel.prototype.dispatchMessage!;
  base.BaseChannel.prototype.dispatchMessage = function (
    this: unknown,
    fields: { exchange?: string; routingKey?: string } | undefined,
    message: unknown,
  ) {
    if (message && fields)
      add(counts.amqpDelivered, fields.exchange ? `exchange ${topic(fields.exchange)}` : `queue ${topic(fields.routingKey ?? "")}`);
    return dispatch.call(this, fields, message);
  };
}

const pg = load<{ Client: { prototype: Record<string, (...args: any[]) => any> } }>("pg");
if (pg) {
  const query = pg.Client.prototype.query!;
  pg.Client.prototype.query = function (this: unknown, config: unknown, ...rest: unknown[]) {
    const text = typeof config === "string" ? config : ((config as { text?: string })?.text ?? "");
    add(counts.sql, /^\s*(\w+)/.exec(text)?.[1]?.toUpperCase() ?? "?");
    return query.call(this, config, ...rest);
  };
}

function write(label: string): void {
  if (!dir) return;
  const out = path.join(dir, "probe", `${node}-${process.pid}`);
  mkdirSync(out, { recursive: true });
  const file = path.join(out, `${label.replace(/[^\w@.-]+/g, "_")}.json`);
  writeFileSync(
    file,
    JSON.stringify({ node, pid: process.pid, services: process.env.SERVICES, label, us: Number(process.hrtime.bigint() / 1000n), counts }),
  );
}

process.on("SIGUSR2", () => {
  let label = "mark";
  try {
    label = readFileSync(path.join(dir ?? ".", ".mark"), "utf8").trim() || label;
  } catch {
    /* no label */
  }
  write(label);
});
process.on("exit", () => write("exit"));

/**
 * moleculer's AMQP transporter (src/transporters/amqp.js), made to ride through RabbitMQ
 * restarts, RabbitMQ cluster node losses and dead shop nodes:
 *
 *  - **Reconnects fast, to any node of the list.** moleculer's Transit retries a lost
 *    connection after a fixed 5 s (transit.js connect()). Here the transporter reconnects by
 *    itself, 250 ms, 500 ms, then every 1 s, rotating through the `;`-separated URLs (a RabbitMQ
 *    cluster), and re-subscribes. The connection asks for an AMQP heartbeat, so a broker drops a
 *    frozen process's connection (and the process notices a dead broker) within seconds.
 *  - **A node's own queues live and die with its connection.** MOL.REQ.<nodeID>, MOL.RES.<nodeID>
 *    and the node's other queues are declared exclusive (and transient): RabbitMQ deletes them the
 *    moment the connection drops (kill -9, crash, lost network), instead of letting requests pile
 *    up for a minute in the queue of a node that is gone. Exclusive queues also live on the
 *    RabbitMQ node the connection is on, so a cluster node's loss never leaves a node's queue
 *    unreachable on a stopped broker (a durable classic queue would be until that broker returned).
 *  - **A request that could not be delivered says so at once.** Messages to one node are
 *    published `mandatory`: when its queue is gone, RabbitMQ returns the message (basic.return),
 *    which proves the request never reached the node. That request is rejected with a
 *    MoleculerRetryableError of type UNDELIVERED (503, safe to retry for every action: nothing
 *    ran), and the node is marked disconnected in the registry right away: moleculer rejects its
 *    other pending requests (RequestRejectedError) and stops choosing it; a live node comes back
 *    with its next heartbeat or INFO.
 *  - **Waiting on a node that is gone is noticed within a second.** While requests to a node are
 *    pending, a PING goes to it every second, mandatory too: when the node's queues are gone
 *    (RabbitMQ dropped a frozen node's connection after its heartbeats stopped, or the node was
 *    killed while no new request went its way), the PING comes back and the node is taken out
 *    as above, its pending requests rejected instead of waiting for their timeout.
 *  - **A lost connection rejects this node's pending requests** (RequestRejectedError): their
 *    answers were bound for its response queue, which went with the connection.
 *  - Deliveries are acknowledged on the channel that delivered them (moleculer acks on
 *    `this.channel`, which after a reconnect is another channel: RabbitMQ would close it).
 *
 * Options are moleculer's AMQP options (url: one URL, a `;`-separated list or an array),
 * plus `heartbeatSeconds` (AMQP heartbeat) and `connectTimeoutMs` (per connection attempt).
 */
import { Errors, Transporters } from "moleculer";
import type { ConsumeMessage, Channel, ChannelModel } from "amqplib";
import { amqpUrls, connectAny, describeUrl, reconnectDelay, AMQP_HEARTBEAT_S } from "./amqp-connect.ts";
import { redact } from "../../lib/config.ts";

type AmqpOptions = NonNullable<ConstructorParameters<typeof Transporters.AMQP>[0]> & object;

export interface ShopAmqpOptions extends AmqpOptions {
  socketOptions?: Record<string, unknown>;
  /** AMQP heartbeat asked for (seconds; a URL's own `heartbeat=` wins). */
  heartbeatSeconds?: number;
  /** How long one connection attempt may take before the next URL is tried. */
  connectTimeoutMs?: number;
}

/** What Transit keeps of a request waiting for its response (transit.js _sendRequest). */
interface PendingRequest {
  action: { name: string };
  nodeID: string | null;
  reject(err: Error): void;
}

/** The error of a request RabbitMQ returned unrouted: it never reached a node, so retrying it anywhere is safe. */
export function undeliveredError(action: string, nodeID: string): Errors.MoleculerRetryableError {
  const message = `Request '${action}' was not delivered: node '${nodeID}' is no longer connected to RabbitMQ`;
  return new Errors.MoleculerRetryableError(message, 503, "UNDELIVERED", { action, nodeID });
}

/** moleculer's error for "not connected" (retryable); its typings ask for arguments its constructor does not take. */
function disconnected(): Error {
  return new (Errors.BrokerDisconnectedError as unknown as new () => Error)();
}

/** Queue names of moleculer's packets: <prefix>.<CMD>.<nodeID> for a node, <prefix>.<CMD> for a broadcast exchange. */
function parseTopic(prefix: string, topic: string): { cmd: string; nodeID: string | null } | null {
  if (!topic.startsWith(`${prefix}.`)) return null;
  const rest = topic.slice(prefix.length + 1);
  const dot = rest.indexOf(".");
  return dot < 0 ? { cmd: rest, nodeID: null } : { cmd: rest.slice(0, dot), nodeID: rest.slice(dot + 1) };
}

export class ShopAmqpTransporter extends Transporters.AMQP {
  private readonly urls: string[];
  private urlIndex = 0;
  private stopping = false;
  /** The connection this transporter runs on once it is fully set up; null while (re)connecting. */
  private established: ChannelModel | null = null;
  private looping = false;
  private probe: NodeJS.Timeout | null = null;
  private outageSince = 0;
  private lastOutageLog = 0;

  constructor(opts: ShopAmqpOptions) {
    super({ ...opts, url: amqpUrls(opts.url ?? "amqp://localhost") });
    this.urls = this.opts.url as string[];
    // Nodes start on different members of a cluster list, so no one broker node carries them all.
    this.urlIndex = Math.floor(Math.random() * this.urls.length);
  }

  private get shopOpts(): ShopAmqpOptions {
    return this.opts as ShopAmqpOptions;
  }

  /**
   * Resolves once connected and subscribed; until then tries the URLs in turn with a short
   * backoff. It never rejects: moleculer's Transit would wait 5 s before trying again.
   */
  override connect(): Promise<void> {
    this.stopping = false;
    this.quietWhileCutOff();
    this.probe ??= setInterval(() => this.probeAwaitedNodes(), 1000);
    this.probe.unref();
    return this.connectLoop();
  }

  override async disconnect(): Promise<void> {
    this.stopping = true;
    this.established = null;
    if (this.probe) clearInterval(this.probe);
    this.probe = null;
    await super.disconnect();
  }

  /**
   * While this node's own connection is down it hears no heartbeat from anyone: moleculer would
   * take every other node out of the registry after heartbeatTimeout (and the gateway's routes
   * with them). Skip that check while cut off; on reconnect every node gets a fresh window.
   */
  private quietWhileCutOff(): void {
    const discoverer = this.broker.registry.discoverer as unknown as { checkRemoteNodes(): void; shopPatched?: boolean };
    if (discoverer.shopPatched) return;
    const check = discoverer.checkRemoteNodes.bind(discoverer);
    discoverer.checkRemoteNodes = () => {
      if (this.connected) check();
    };
    discoverer.shopPatched = true;
  }

  private freshHeartbeatWindow(): void {
    const now = Math.round(process.uptime());
    for (const node of this.broker.registry.nodes.toArray() as { local: boolean; lastHeartbeatTime: number }[]) {
      if (!node.local) node.lastHeartbeatTime = now;
    }
  }

  /** A mandatory PING to every node this node awaits answers from: it comes back (returned) if the node's queues are gone. */
  private probeAwaitedNodes(): void {
    if (!this.connected || !this.channel) return;
    const awaited = new Set<string>();
    const pending = this.transit.pendingRequests as unknown as Map<string, PendingRequest>;
    for (const req of pending.values()) if (req.nodeID) awaited.add(req.nodeID);
    for (const nodeID of awaited) void this.transit.sendPing(nodeID).catch(() => undefined);
  }

  private async connectLoop(): Promise<void> {
    if (this.looping) return;
    this.looping = true;
    try {
      await this.connectUntilDone();
    } finally {
      this.looping = false;
    }
  }

  private async connectUntilDone(): Promise<void> {
    for (let attempt = 0; !this.stopping; attempt++) {
      try {
        const connection = await this.open();
        if (this.established !== connection) throw new Error("the connection closed while subscribing");
        if (this.outageSince) {
          this.freshHeartbeatWindow();
          this.logger.info(`AMQP: reconnected to ${describeUrl(this.urls[this.urlIndex]!)} after ${Date.now() - this.outageSince} ms.`);
        }
        this.outageSince = 0;
        return;
      } catch (err) {
        const now = Date.now();
        this.outageSince ||= now;
        // Once when it starts, then every 10 s: a restart is not worth a line every 250 ms.
        if (now - this.lastOutageLog > 10_000) {
          this.lastOutageLog = now;
          this.logger.warn(`AMQP: cannot connect to RabbitMQ (${redact((err as Error).message)}); retrying every ≤ 1 s.`);
        }
        await new Promise((r) => setTimeout(r, reconnectDelay(attempt)));
      }
    }
  }

  /** One attempt: a connection to any URL, a channel, the subscriptions; anything failing closes it again. */
  private async open(): Promise<ChannelModel> {
    const socketOptions = {
      ...this.shopOpts.socketOptions,
      timeout: this.shopOpts.connectTimeoutMs ?? 3000,
      clientProperties: { connection_name: `moleculer ${this.nodeID}` },
    };
    const heartbeat = this.shopOpts.heartbeatSeconds ?? AMQP_HEARTBEAT_S;
    const { connection, index } = await connectAny(this.urls, this.urlIndex, socketOptions, heartbeat);
    this.urlIndex = index;
    connection.on("error", (err: Error) => {
      this.logger.warn(`AMQP connection error: ${redact(err.message)}`);
      this.broker.broadcastLocal("$transporter.error", { error: err, module: "transporter", type: "failedConnection" });
    });
    connection.on("close", () => this.connectionLost(connection));
    connection.on("blocked", (reason: string) => this.logger.warn("AMQP connection is blocked.", reason));
    connection.on("unblocked", () => this.logger.info("AMQP connection is unblocked."));
    try {
      const channel = await connection.createChannel();
      channel.on("error", (err: Error) => this.logger.warn(`AMQP channel error: ${err.message}`));
      channel.on("close", () => {
        if (this.channel === channel) this.channel = null;
        // A channel closed by RabbitMQ (an error) leaves the node deaf: start over on a new connection.
        if (this.established === connection && !this.stopping) void connection.close().catch(() => undefined);
      });
      channel.on("return", (msg: ConsumeMessage) => this.returned(msg));
      await channel.prefetch(this.opts.prefetch!);
      this.connection = connection;
      this.channel = channel;
      this.bindings = [];
      this.connectionCount += 1;
      const isReconnect = this.connectionCount > 1;
      // As moleculer: after a reconnect the node's own subscriptions are made again here.
      if (isReconnect) await this.transit.makeSubscriptions();
      this.established = connection;
      await this.onConnected(isReconnect);
      this.logger.info(`AMQP is connected to ${describeUrl(this.urls[index]!)}.`);
      return connection;
    } catch (err) {
      this.established = null;
      this.connected = false;
      await connection.close().catch(() => undefined);
      throw err;
    }
  }

  private connectionLost(connection: ChannelModel): void {
    if (connection !== this.established) return; // an attempt that failed: its loop handles it
    this.established = null;
    this.connected = false;
    this.connection = null;
    this.channel = null;
    if (this.stopping || this.transit.disconnecting) return;
    this.logger.warn(`AMQP connection to ${describeUrl(this.urls[this.urlIndex]!)} lost; reconnecting.`);
    this.outageSince = Date.now();
    this.rejectPendingRequests();
    // Try the next node of the list first: the one just lost may be the one that went down.
    this.urlIndex = (this.urlIndex + 1) % this.urls.length;
    void this.connectLoop();
  }

  /** Answers to this node's requests were bound for its response queue, which went with the connection. */
  private rejectPendingRequests(): void {
    const pending = this.transit.pendingRequests as unknown as Map<string, PendingRequest>;
    for (const [id, req] of pending) {
      this.transit.removePendingRequest(id);
      req.reject(new Errors.RequestRejectedError({ action: req.action.name, nodeID: req.nodeID ?? "" }));
    }
  }

  /** RabbitMQ returned a message published to one node: that node's queue is gone, and so is the node. */
  private returned(msg: ConsumeMessage): void {
    const topic = parseTopic(this.prefix, msg.fields.routingKey);
    if (!topic?.nodeID || topic.nodeID === this.nodeID) return;
    const { cmd, nodeID } = topic;
    if (cmd === "REQ") {
      let id: string | undefined;
      try {
        id = (this.broker.serializer!.deserialize(msg.content, "REQ") as { id?: string }).id;
      } catch {
        /* unreadable: the node is still gone */
      }
      const pending = this.transit.pendingRequests as unknown as Map<string, PendingRequest>;
      const req = id ? pending.get(id) : undefined;
      if (id && req) {
        this.transit.removePendingRequest(id);
        req.reject(undeliveredError(req.action.name, nodeID));
      }
    }
    const node = this.broker.registry.nodes.get(nodeID);
    if (node?.available) {
      this.logger.warn(`Node '${nodeID}' has no queue on RabbitMQ (its connection is gone): not calling it until it reports again.`);
      this.broker.registry.nodes.disconnected(nodeID, true);
    }
  }

  /** This node's own queues are exclusive to its connection; shared (balanced) queues stay as moleculer makes them. */
  override _getQueueOptions(packetType: string, balancedQueue?: boolean): Record<string, unknown> {
    // oxlint-disable-next-line eslint/no-underscore-dangle -- moleculer's AMQP transporter names it so
    const options = super._getQueueOptions(packetType, balancedQueue);
    if (balancedQueue) return options;
    const { expires: _expires, autoDelete: _autoDelete, ...rest } = options;
    return { ...rest, exclusive: true, durable: false };
  }

  /** moleculer's consumer, acknowledging on the channel that delivered the message (if it is still open). */
  override _consumeCB(cmd: string, needAck = false): (msg: ConsumeMessage | null) => void | Promise<void> {
    const channel = this.channel as Channel | null;
    return (msg: ConsumeMessage | null) => {
      if (!msg) return; // consumer cancelled by RabbitMQ (queue deleted)
      const result = this.receive(cmd, msg.content);
      if (!needAck) return result;
      const ack = (ok: boolean) => {
        if (!channel || channel !== this.channel) return; // that channel is gone, and with it the delivery
        try {
          if (ok) channel.ack(msg);
          else channel.nack(msg);
        } catch {
          /* closing */
        }
      };
      if (result && typeof (result as Promise<void>).then === "function") {
        return (result as Promise<void>).then(
          () => ack(true),
          (err: Error) => {
            this.logger.error("Message handling error.", err);
            ack(false);
          },
        );
      }
      ack(true);
      return result;
    };
  }

  /** Messages to one node are mandatory (returned when its queue is gone); nothing is sent while disconnected. */
  override send(topic: string, data: Buffer, meta: Record<string, unknown>): Promise<void> {
    const { balanced, packet } = meta as { balanced?: boolean; packet: { type: string; target?: string | null } };
    const channel = this.channel as Channel | null;
    if (!channel) {
      if (["REQ", "EVENT", "PING"].includes(packet.type)) return Promise.reject(disconnected());
      return Promise.resolve();
    }
    try {
      if (packet.target != null) channel.sendToQueue(topic, data, { ...this.opts.messageOptions, mandatory: true });
      else if (balanced) channel.sendToQueue(topic, data, this.opts.messageOptions);
      else channel.publish(topic, "", data, this.opts.messageOptions);
    } catch (err) {
      // The channel closed under us (connection lost): the reconnect is on its way.
      if (["REQ", "EVENT", "PING"].includes(packet.type)) return Promise.reject(disconnected());
      this.logger.debug("AMQP: not sent while reconnecting", (err as Error).message);
    }
    return Promise.resolve();
  }
}

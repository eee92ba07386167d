/**
 * Durable events on RabbitMQ (amqplib), for what must not be lost when its consumer is down,
 * restarting or scaled out (Moleculer's own events are fire-and-forget).
 *
 *   producer ──publish (persistent, publisher confirm)──► exchange <ns>.events (topic, durable)
 *                                                              │ binding per consumer group
 *                                                              ▼
 *   consumer group "<ns>.<group>" (durable queue, manual ack, prefetch) ──handler──► ack
 *        │ handler failed: attempt n (< max) ──► <queue>.retry.<n> (TTL base·2ⁿ) ──dead-letters back──┘
 *        └ attempt max ──► <queue>.dead (dead-letter queue) + onDead callback
 *
 * Replicas of a consumer share its queue (competing consumers: each message goes to one).
 * Delivery is at least once; consumers make handling idempotent by `messageId`.
 *
 * Every queue is a quorum queue (Raft-replicated over the nodes of a RabbitMQ cluster; a
 * single broker is a cluster of one): a message confirmed to the publisher survives the loss of
 * any minority of broker nodes. The group's queue has a delivery limit: a message delivered
 * `deliveryLimit` times without being settled (its consumer crashed or lost its connection each
 * time: a poison message) goes to the dead-letter queue, with `onDead`, instead of looping;
 * RabbitMQ's own `x-delivery-limit` (one more) dead-letters it even if the consumer cannot.
 * Dead-lettering between these queues (retry TTL → group queue, delivery limit → dead letters)
 * is at-least-once. Queues made as classic queues by an older version are moved over by
 * `npm run migrate:queues` (docs/rabbitmq-quorum-queues.md); until then consuming stops with
 * an error that says so.
 *
 * The connection takes any URL of a `;`-separated list (a RabbitMQ cluster), and after a loss
 * reconnects within about a second (250 ms, 500 ms, then every 1 s, the next node first),
 * resumes every consumer and tells `onReconnected` listeners (the outbox relays publish what
 * waited).
 */
import type { Channel, ConfirmChannel, ConsumeMessage, ChannelModel } from "amqplib";
import { acceptRequestId, currentRequestId, withRequestId } from "../../lib/request-id.ts";
import { redact, type Config } from "../../lib/config.ts";
import { amqpUrls, connectAny, describeUrl, reconnectDelay } from "./amqp-connect.ts";

export interface DurableMessage<T = unknown> {
  event: string;
  payload: T;
  messageId: string;
  attempt: number;
  publishedAt: string;
  /** The request that caused it (ctx.requestID): the consumer's log lines carry it too. */
  requestId?: string;
}

/** A consumer group: one durable queue shared by every replica, its retry queues and dead letters. */
export interface ConsumerGroup {
  /** Queue group name, e.g. "mail". */
  group: string;
  /** Attempts before a message goes to the dead-letter queue. */
  maxAttempts: number;
  /** The first retry's delay; it doubles with each further attempt. */
  retryBaseMs: number;
  /** Deliveries without a settlement (consumer crashed, connection lost) before a message is dead-lettered; default 10. */
  deliveryLimit?: number;
}

export const DEFAULT_DELIVERY_LIMIT = 10;
/** How long dead letters are kept. */
const DEAD_LETTER_TTL_MS = 14 * 86_400_000;

export interface QueueSpec {
  name: string;
  arguments: Record<string, unknown>;
}

/**
 * A consumer group's queues and their arguments: the group's queue, one retry queue per
 * further attempt, the dead-letter queue. All quorum queues; RabbitMQ refuses to declare one
 * over an existing queue with other arguments (PRECONDITION_FAILED).
 */
export function consumerGroupQueues(namespace: string, group: ConsumerGroup): QueueSpec[] {
  const queue = `${namespace}.${group.group}`;
  const quorum = { "x-queue-type": "quorum" };
  // Dead-lettering out of a quorum queue is at-most-once unless asked otherwise (RabbitMQ ≥ 3.10).
  const atLeastOnce = { "x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish", "x-dead-letter-exchange": "" };
  return [
    {
      name: queue,
      arguments: {
        ...quorum,
        ...atLeastOnce,
        "x-dead-letter-routing-key": `${queue}.dead`,
        "x-delivery-limit": (group.deliveryLimit ?? DEFAULT_DELIVERY_LIMIT) + 1,
      },
    },
    // Retry queues: a message waits base·2ⁿ ms, then dead-letters back into the group's queue.
    ...Array.from({ length: Math.max(0, group.maxAttempts - 1) }, (_, n) => ({
      name: `${queue}.retry.${n}`,
      arguments: { ...quorum, ...atLeastOnce, "x-message-ttl": group.retryBaseMs * 2 ** n, "x-dead-letter-routing-key": queue },
    })),
    { name: `${queue}.dead`, arguments: { ...quorum, "x-message-ttl": DEAD_LETTER_TTL_MS } },
  ];
}

/**
 * Thrown by a handler for a message it cannot handle yet through no fault of the message (another
 * live consumer holds it): the message is looked at again after the first retry delay, and the
 * look does not count as one of its attempts.
 */
export class DeferDelivery extends Error {
  override readonly name = "DeferDelivery";
}

/** Thrown when a group's queue exists with other arguments (a classic queue of an older version). */
export class QueueMismatchError extends Error {
  override name = "QueueMismatchError";
}

/**
 * The shop's consumer groups: mail (the e-mails of user and order events), storage (the
 * files of a removed account) and products (stock to give back). Their names and attempts define the queues of a namespace.
 */
export function shopConsumerGroups(config: Pick<Config, "mail">): { mail: ConsumerGroup; storage: ConsumerGroup; products: ConsumerGroup } {
  return {
    mail: { group: "mail", maxAttempts: config.mail.maxAttempts, retryBaseMs: config.mail.retryBaseMs },
    // Up to ~17 minutes of retries (storage or its object store down), then a dead letter.
    storage: { group: "storage", maxAttempts: 10, retryBaseMs: 1000 },
    // Stock to give back (a cancelled order, a checkout that could not save): ~17 minutes of
    // retries from 0.5 s (products, orders or the database down), then reconciliation's turn.
    products: { group: "products", maxAttempts: 12, retryBaseMs: 500 },
  };
}

/**
 * Remove a namespace's durable topology, its exchange and every shop consumer group's queues
 * (`config` gives their attempts): clean-up after tests and benchmarks, decommissioning.
 */
export async function deleteShopTopology(url: string | string[], namespace: string, config: Pick<Config, "mail">): Promise<void> {
  const durable = new DurableEvents(url, namespace, { info() {}, warn() {}, error() {} });
  try {
    await durable.deleteTopology(Object.values(shopConsumerGroups(config)));
  } finally {
    await durable.close(0);
  }
}

export interface ConsumerOptions extends ConsumerGroup {
  /** Routing patterns (event names, `*` and `#` wildcards), e.g. ["order.*", "user.*"]. */
  patterns: string[];
  prefetch?: number;
  handle(message: DurableMessage): Promise<void>;
  /** Called once a message has used up its attempts and went to the dead-letter queue. */
  onDead?(message: DurableMessage, error: string): Promise<void>;
  logger?: Pick<Console, "info" | "warn" | "error">;
}

interface Logger {
  info(...a: unknown[]): void;
  warn(...a: unknown[]): void;
  error(...a: unknown[]): void;
}

export class DurableEvents {
  private readonly urls: string[];
  private urlIndex = 0;
  private readonly exchange: string;
  private readonly namespace: string;
  private readonly logger: Logger;
  private connection: ChannelModel | null = null;
  private publishChannel: ConfirmChannel | null = null;
  private connecting: Promise<ChannelModel> | null = null;
  private readonly consumers: ConsumerOptions[] = [];
  private consumerChannels: Channel[] = [];
  private readonly consumerTags = new Map<Channel, string>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly reconnectListeners: (() => void)[] = [];
  private reconnecting = false;
  private closed = false;

  /** `url`: one amqp(s):// URL, a `;`-separated list of a cluster's nodes, or the list as an array. */
  constructor(url: string | string[], namespace: string, logger: Logger = console) {
    this.urls = amqpUrls(url);
    this.urlIndex = Math.floor(Math.random() * this.urls.length); // spread over a cluster's nodes
    this.namespace = namespace;
    this.exchange = `${namespace}.events`;
    this.logger = logger;
  }

  queueName(group: string): string {
    return `${this.namespace}.${group}`;
  }

  /** Call `listener` each time the connection is back after a loss (consumers already resumed). */
  onReconnected(listener: () => void): void {
    this.reconnectListeners.push(listener);
  }

  /** Publish an event persistently; resolves once RabbitMQ has confirmed it. */
  async publish(event: string, payload: unknown, messageId: string, attempt = 0, requestId = currentRequestId()): Promise<void> {
    const channel = await this.confirmChannel();
    const message: DurableMessage = {
      event,
      payload,
      messageId,
      attempt,
      publishedAt: new Date().toISOString(),
      ...(requestId ? { requestId } : {}),
    };
    channel.publish(this.exchange, event, Buffer.from(JSON.stringify(message)), {
      persistent: true,
      messageId,
      contentType: "application/json",
      timestamp: Math.floor(Date.now() / 1000),
    });
    await channel.waitForConfirms();
  }

  /** Put a message straight into a consumer group's queue (used to retry dead letters). */
  async requeue(group: string, message: DurableMessage): Promise<void> {
    const channel = await this.confirmChannel();
    const requestId = message.requestId ?? currentRequestId();
    channel.sendToQueue(
      this.queueName(group),
      Buffer.from(JSON.stringify({ ...message, attempt: 0, ...(requestId ? { requestId } : {}) })),
      {
        persistent: true,
        messageId: message.messageId,
        contentType: "application/json",
      },
    );
    await channel.waitForConfirms();
  }

  /** Start consuming a group's queue (declares queue, retry queues and dead-letter queue). */
  async consume(options: ConsumerOptions): Promise<void> {
    this.consumers.push(options);
    const connection = await this.connect();
    await this.startConsumer(connection, options);
  }

  /** How many messages wait in a group's queue / dead-letter queue (for tests and health). */
  async depth(group: string): Promise<{ ready: number; dead: number }> {
    const channel = await this.confirmChannel();
    const queue = this.queueName(group);
    const ready = (await channel.checkQueue(queue)).messageCount;
    const dead = (await channel.checkQueue(`${queue}.dead`)).messageCount;
    return { ready, dead };
  }

  /** Remove the groups' queues and the namespace's exchange (test clean-up, decommissioning). */
  async deleteTopology(groups: Pick<ConsumerGroup, "group" | "maxAttempts">[]): Promise<void> {
    const channel = await this.confirmChannel();
    for (const group of groups) {
      for (const { name } of consumerGroupQueues(this.namespace, { retryBaseMs: 1, ...group })) await channel.deleteQueue(name);
    }
    await channel.deleteExchange(this.exchange);
  }

  /**
   * Graceful stop: stop taking messages, let the ones being handled finish (up to
   * `drainMs`), then close. Anything unacknowledged goes back to the queue by itself.
   */
  async close(drainMs = 10_000): Promise<void> {
    this.closed = true;
    for (const [ch, tag] of this.consumerTags) await ch.cancel(tag).catch(() => undefined);
    this.consumerTags.clear();
    if (this.inFlight.size) {
      await Promise.race([Promise.allSettled(this.inFlight), new Promise((r) => setTimeout(r, drainMs))]);
    }
    for (const ch of this.consumerChannels) await ch.close().catch(() => undefined);
    this.consumerChannels = [];
    await this.publishChannel?.close().catch(() => undefined);
    this.publishChannel = null;
    await this.connection?.close().catch(() => undefined);
    this.connection = null;
  }

  private async connect(): Promise<ChannelModel> {
    if (this.connection) return this.connection;
    if (this.closed) throw new Error("Durable events: closed");
    // Outside any request's log scope: the connection's own callbacks belong to no request.
    this.connecting ??= withRequestId(undefined, async () => {
      const clientProperties = { connection_name: `durable-events ${this.namespace} ${process.pid}` };
      const { connection, index } = await connectAny(this.urls, this.urlIndex, { timeout: 3000, clientProperties });
      this.urlIndex = index;
      connection.on("error", (err: Error) => this.logger.warn(`Durable events: connection error: ${redact(err.message)}`));
      connection.on("close", () => {
        if (this.connection !== connection) return;
        this.connection = null;
        this.publishChannel = null;
        this.consumerChannels = [];
        this.consumerTags.clear();
        // The node just lost may be the one that went down: the next one first.
        this.urlIndex = (this.urlIndex + 1) % this.urls.length;
        if (!this.closed) void this.reconnect();
      });
      try {
        const setup = await connection.createChannel();
        await setup.assertExchange(this.exchange, "topic", { durable: true });
        await setup.close();
      } catch (err) {
        await connection.close().catch(() => undefined);
        throw err;
      }
      this.connection = connection;
      return connection;
    }).finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  /** After a lost connection: reconnect (250 ms, 500 ms, then every 1 s) and resume every consumer. */
  private async reconnect(): Promise<void> {
    if (this.reconnecting) return;
    this.reconnecting = true;
    const since = Date.now();
    this.logger.warn(`Durable events: connection to RabbitMQ lost; reconnecting.`);
    try {
      for (let attempt = 0; !this.closed; attempt++) {
        await new Promise((r) => setTimeout(r, reconnectDelay(attempt)));
        if (this.closed) return;
        try {
          const connection = await this.connect();
          for (const consumer of this.consumers) await this.startConsumer(connection, consumer);
          this.logger.info(`Durable events: reconnected to ${describeUrl(this.urls[this.urlIndex]!)} after ${Date.now() - since} ms.`);
          for (const listener of this.reconnectListeners) listener();
          return;
        } catch (err) {
          // The first failure and then every 10th (~10 s): an outage is not worth a line per attempt.
          const reason = redact((err as Error).message);
          if (attempt % 10 === 0) this.logger.warn(`Durable events: reconnect attempt ${attempt + 1} failed: ${reason}`);
          await this.connection?.close().catch(() => undefined);
        }
      }
    } finally {
      this.reconnecting = false;
    }
  }

  private async confirmChannel(): Promise<ConfirmChannel> {
    if (this.publishChannel) return this.publishChannel;
    const connection = await this.connect();
    const channel = await connection.createConfirmChannel();
    channel.on("close", () => {
      if (this.publishChannel === channel) this.publishChannel = null;
    });
    channel.on("error", (err) => this.logger.warn("Durable events: publish channel error", err));
    this.publishChannel = channel;
    return channel;
  }

  /** Declare a group's queues (quorum), bound to the exchange with `patterns`. */
  async declareGroup(group: ConsumerGroup, patterns: string[]): Promise<void> {
    const connection = await this.connect();
    const channel = await connection.createChannel();
    channel.on("error", () => undefined); // a refused declaration closes the channel; the error is thrown below
    try {
      await this.assertGroup(channel, group, patterns);
    } finally {
      await channel.close().catch(() => undefined);
    }
  }

  private async assertGroup(channel: Channel, group: ConsumerGroup, patterns: string[]): Promise<void> {
    const queue = this.queueName(group.group);
    for (const spec of consumerGroupQueues(this.namespace, group)) {
      try {
        await channel.assertQueue(spec.name, { durable: true, arguments: spec.arguments });
      } catch (err) {
        const message = (err as Error).message ?? String(err);
        if (!/PRECONDITION_FAILED|inequivalent arg/i.test(message)) throw err;
        throw new QueueMismatchError(
          `Durable events: queue ${spec.name} exists with other arguments (a classic queue of an older version?). ` +
            `Move it to a quorum queue with "npm run migrate:queues" (docs/rabbitmq-quorum-queues.md); nothing is lost. ` +
            `RabbitMQ: ${message}`,
        );
      }
    }
    for (const pattern of patterns) await channel.bindQueue(queue, this.exchange, pattern);
  }

  private async startConsumer(connection: ChannelModel, options: ConsumerOptions): Promise<void> {
    const queue = this.queueName(options.group);
    const channel = await connection.createConfirmChannel();
    channel.on("error", (err: Error) => this.logger.warn(`Durable events: ${queue} channel error: ${err.message}`));
    this.consumerChannels.push(channel);
    await this.assertGroup(channel, options, options.patterns);
    await channel.prefetch(options.prefetch ?? 10);
    const { consumerTag } = await channel.consume(
      queue,
      (msg) => {
        const work = this.deliver(channel, queue, options, msg)
          .catch((err) =>
            this.logger.warn(`Durable events: ${queue} delivery interrupted (the message will come again)`, (err as Error).message),
          )
          .finally(() => this.inFlight.delete(work));
        this.inFlight.add(work);
      },
      { noAck: false },
    );
    this.consumerTags.set(channel, consumerTag);
  }

  private async deliver(channel: ConfirmChannel, queue: string, options: ConsumerOptions, msg: ConsumeMessage | null): Promise<void> {
    if (!msg) return;
    let message: DurableMessage;
    try {
      message = JSON.parse(msg.content.toString("utf8")) as DurableMessage;
      if (typeof message.messageId !== "string" || typeof message.event !== "string") throw new Error("not a durable event");
    } catch (err) {
      // Unreadable: straight to the dead-letter queue, never retried.
      channel.sendToQueue(`${queue}.dead`, msg.content, {
        persistent: true,
        headers: { "x-error": `unreadable: ${(err as Error).message}` },
      });
      await channel.waitForConfirms().catch(() => undefined);
      settle(() => channel.ack(msg));
      return;
    }
    // Quorum queues count deliveries: this one has come back `deliveryLimit` times unsettled, each
    // time its consumer died or lost its connection while handling it. Do not hand it out again.
    // RabbitMQ 3.x counts them in x-delivery-count; 4.x counts returns of a lost consumer in x-acquired-count.
    const headers = msg.properties.headers ?? {};
    const deliveries = Math.max(Number(headers["x-delivery-count"] ?? 0), Number(headers["x-acquired-count"] ?? 0)) + 1;
    const deliveryLimit = options.deliveryLimit ?? DEFAULT_DELIVERY_LIMIT;
    if (deliveries > deliveryLimit) {
      const error = `delivered ${deliveries - 1} times without being settled (its consumer crashed or lost its connection each time)`;
      options.logger?.error(`Durable events: ${message.event} ${message.messageId} ${error}; dead-lettered.`);
      channel.sendToQueue(`${queue}.dead`, msg.content, { persistent: true, messageId: message.messageId, headers: { "x-error": error } });
      await channel.waitForConfirms();
      await options.onDead?.({ ...message, attempt: message.attempt + 1 }, error);
      settle(() => channel.ack(msg));
      return;
    }
    let handled = false;
    try {
      // The handler's log lines carry the request id of the request that published it.
      await withRequestId(acceptRequestId(message.requestId), () => options.handle(message));
      handled = true;
    } catch (err) {
      const error = (err as Error).message ?? String(err);
      // Deferred to the first retry queue; without retry queues (one attempt) it fails as any error does.
      const deferred = err instanceof DeferDelivery && options.maxAttempts > 1;
      const next = deferred ? message : { ...message, attempt: message.attempt + 1 };
      const body = Buffer.from(JSON.stringify(next));
      try {
        if (deferred) {
          options.logger?.info(`Durable events: ${message.event} ${message.messageId} deferred: ${error}`);
          channel.sendToQueue(`${queue}.retry.0`, body, {
            persistent: true,
            messageId: message.messageId,
            headers: { "x-deferred": error },
          });
        } else if (next.attempt < options.maxAttempts) {
          options.logger?.warn(
            `Durable events: ${message.event} ${message.messageId} failed (attempt ${next.attempt}/${options.maxAttempts}): ${error}`,
          );
          channel.sendToQueue(`${queue}.retry.${next.attempt - 1}`, body, {
            persistent: true,
            messageId: message.messageId,
            headers: { "x-error": error },
          });
        } else {
          options.logger?.error(
            `Durable events: ${message.event} ${message.messageId} failed ${next.attempt} times; dead-lettered: ${error}`,
          );
          channel.sendToQueue(`${queue}.dead`, body, { persistent: true, messageId: message.messageId, headers: { "x-error": error } });
          await options.onDead?.(next, error);
        }
        await channel.waitForConfirms();
        settle(() => channel.ack(msg));
      } catch (moveErr) {
        // Could not park it: give it back to the queue rather than lose it.
        options.logger?.error("Durable events: could not move a failed message; requeueing it", moveErr);
        settle(() => channel.nack(msg, false, true));
      }
    }
    if (handled) settle(() => channel.ack(msg));
  }
}

/**
 * Ack or nack on a channel that may be closing (node stopping, connection lost): amqplib
 * throws IllegalOperationError then. Nothing is lost: RabbitMQ redelivers every unacknowledged
 * message, and the handler's idempotency key makes the redelivery a no-op.
 */
function settle(op: () => void): void {
  try {
    op();
  } catch {
    /* the channel is gone; the message comes again */
  }
}

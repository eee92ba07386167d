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
 */
import amqp from "amqplib";
import type { Channel, ConfirmChannel, ConsumeMessage, ChannelModel } from "amqplib";
import { acceptRequestId, currentRequestId, withRequestId } from "./request-context.ts";
import type { Config } from "./config.ts";

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
export async function deleteShopTopology(url: string, namespace: string, config: Pick<Config, "mail">): Promise<void> {
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
  private readonly url: string;
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
  private closed = false;

  constructor(url: string, namespace: string, logger: Logger = console) {
    this.url = url;
    this.namespace = namespace;
    this.exchange = `${namespace}.events`;
    this.logger = logger;
  }

  queueName(group: string): string {
    return `${this.namespace}.${group}`;
  }

  /** Publish an event persistently; resolves once RabbitMQ has confirmed it. */
  async publish(event: string, payload: unknown, messageId: string, attempt = 0, requestId = currentRequestId()): Promise<void> {
    const channel = await this.confirmChannel();
    const message: DurableMessage = { event, payload, messageId, attempt, publishedAt: new Date().toISOString(), ...(requestId ? { requestId } : {}) };
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
    channel.sendToQueue(this.queueName(group), Buffer.from(JSON.stringify({ ...message, attempt: 0, ...(requestId ? { requestId } : {}) })), {
      persistent: true,
      messageId: message.messageId,
      contentType: "application/json",
    });
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
    for (const { group, maxAttempts } of groups) {
      const queue = this.queueName(group);
      for (let n = 0; n < maxAttempts - 1; n++) await channel.deleteQueue(`${queue}.retry.${n}`);
      await channel.deleteQueue(`${queue}.dead`);
      await channel.deleteQueue(queue);
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
    // Outside any request's log scope: the connection's own callbacks belong to no request.
    this.connecting ??= withRequestId(undefined, async () => {
      const connection = await amqp.connect(this.url, { noDelay: true });
      connection.on("error", (err) => this.logger.warn("Durable events: connection error", err));
      connection.on("close", () => {
        this.connection = null;
        this.publishChannel = null;
        this.consumerChannels = [];
        if (!this.closed) void this.reconnect();
      });
      const setup = await connection.createChannel();
      await setup.assertExchange(this.exchange, "topic", { durable: true });
      await setup.close();
      this.connection = connection;
      return connection;
    }).finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  /** After a lost connection: reconnect with backoff and resume every consumer. */
  private async reconnect(): Promise<void> {
    for (let attempt = 0; !this.closed; attempt++) {
      await new Promise((r) => setTimeout(r, Math.min(30_000, 500 * 2 ** attempt)));
      try {
        const connection = await this.connect();
        for (const consumer of this.consumers) await this.startConsumer(connection, consumer);
        this.logger.info("Durable events: reconnected to RabbitMQ.");
        return;
      } catch (err) {
        this.logger.warn(`Durable events: reconnect attempt ${attempt + 1} failed`, (err as Error).message);
      }
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

  private async startConsumer(connection: ChannelModel, options: ConsumerOptions): Promise<void> {
    const queue = this.queueName(options.group);
    const channel = await connection.createConfirmChannel();
    this.consumerChannels.push(channel);
    await channel.assertQueue(queue, { durable: true });
    for (const pattern of options.patterns) await channel.bindQueue(queue, this.exchange, pattern);
    // Retry queues: a message waits base·2ⁿ ms, then dead-letters back into the main queue.
    for (let n = 0; n < options.maxAttempts - 1; n++) {
      await channel.assertQueue(`${queue}.retry.${n}`, {
        durable: true,
        arguments: { "x-message-ttl": options.retryBaseMs * 2 ** n, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": queue },
      });
    }
    await channel.assertQueue(`${queue}.dead`, { durable: true, arguments: { "x-message-ttl": 14 * 86_400_000 } });
    await channel.prefetch(options.prefetch ?? 10);
    const { consumerTag } = await channel.consume(
      queue,
      (msg) => {
        const work = this.deliver(channel, queue, options, msg)
          .catch((err) => this.logger.warn(`Durable events: ${queue} delivery interrupted (the message will come again)`, (err as Error).message))
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
      channel.sendToQueue(`${queue}.dead`, msg.content, { persistent: true, headers: { "x-error": `unreadable: ${(err as Error).message}` } });
      await channel.waitForConfirms().catch(() => undefined);
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
      const next = { ...message, attempt: message.attempt + 1 };
      const body = Buffer.from(JSON.stringify(next));
      try {
        if (next.attempt < options.maxAttempts) {
          options.logger?.warn(`Durable events: ${message.event} ${message.messageId} failed (attempt ${next.attempt}/${options.maxAttempts}): ${error}`);
          channel.sendToQueue(`${queue}.retry.${next.attempt - 1}`, body, { persistent: true, messageId: message.messageId, headers: { "x-error": error } });
        } else {
          options.logger?.error(`Durable events: ${message.event} ${message.messageId} failed ${next.attempt} times; dead-lettered: ${error}`);
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

/**
 * Backpressure for streams sent over the transporter (uploads from a gateway to the storage
 * service on another node). Moleculer 0.15's transit has none:
 *
 *  - sending: it pauses the source stream only until each chunk is handed to the transporter,
 *    and the AMQP transporter hands it to amqplib without looking at amqplib's write buffer.
 *    When RabbitMQ takes the chunks slower than the client uploads them, they pile up in the
 *    sending node (the gateway);
 *  - receiving: it writes every chunk into the action's stream without looking at its buffer,
 *    and the chunk is acknowledged at once. When the action consumes slower than the chunks
 *    arrive (an S3 part in flight, a busy event loop), they pile up in the receiving node.
 *
 * This broker middleware closes both gaps for request streams:
 *  - `transporterSend`: after a stream chunk, while the AMQP connection has more than
 *    `sendHighWaterMark` bytes (or frames) waiting to be written, the send does not resolve,
 *    so transit keeps the source paused: busboy, the HTTP request and finally the client's
 *    TCP connection wait;
 *  - `transporterReceive`: while an incoming request stream holds more than `highWaterMark`
 *    unread bytes, the chunk's acknowledgement waits until it drains; RabbitMQ stops
 *    delivering once the consumer's prefetch (AMQP_PREFETCH) is used up, and the rest waits
 *    in the queue, on the broker, instead of in this process.
 *
 * Other transporters, and packets that are not stream chunks, pass unchanged. It has to be in
 * the broker's options (moleculer.config.ts `middlewares`): transporter functions are wrapped
 * when the broker is created.
 */
import type { Middleware, ServiceBroker } from "moleculer";
import type { Writable } from "node:stream";

export interface TransitBackpressureOptions {
  /** Unread bytes in one incoming stream above which acknowledgements wait. */
  highWaterMark?: number;
  /** Bytes queued on the outgoing AMQP connection above which sending a chunk waits. */
  sendHighWaterMark?: number;
  /** Never hold a chunk longer than this (a peer that stopped reading without closing). */
  maxWaitMs?: number;
}

type PendingStreams = Map<string, { stream: Writable }>;
/** What of moleculer's transit this reads: the incoming request streams, and the transporter. */
type Transit = { pendingReqStreams?: PendingStreams; tx?: object };
/** The AMQP transporter's channel, as amqplib has it (nothing of it is in moleculer's types). */
type AmqpChannel = { ch?: number; connection?: { stream?: Writable; channels?: ({ buffer?: Writable } | null)[] } };

/**
 * The first incoming request stream with more than `limit` bytes waiting, if any. Object-mode
 * streams count chunks, not bytes: there, a chunk is taken as 64 KiB.
 */
function overfull(pending: PendingStreams | undefined, limit: number): Writable | undefined {
  if (!pending) return undefined;
  for (const { stream } of pending.values()) {
    const waiting = stream.writableObjectMode ? stream.writableLength * 64 * 1024 : stream.writableLength;
    if (!stream.destroyed && waiting > limit) return stream;
  }
  return undefined;
}

/** Resolves when `stream` has drained, ended, failed or closed, or after `maxWaitMs`. */
function drained(stream: Writable, maxWaitMs: number): Promise<void> {
  return new Promise((resolve) => {
    const events = ["drain", "close", "error", "finish"] as const;
    const done = () => {
      clearTimeout(timer);
      for (const e of events) stream.off(e, done);
      resolve();
    };
    const timer = setTimeout(done, maxWaitMs);
    timer.unref();
    for (const e of events) stream.on(e, done);
  });
}

/**
 * What the AMQP transporter's connection still has to write: the socket's buffer (bytes) and
 * the channel's frame queue in amqplib (objects; a frame is at most frameMax, 128 KiB).
 * Undefined for anything that is not amqplib underneath.
 *
 * The frame queue is an object-mode PassThrough (highWaterMark 1024 frames) that amqplib's
 * muxer reads only while the socket accepts: a frame moves to its readable side as soon as it
 * is written, so the queued frames are its readableLength; its writableLength stays 0. And the
 * muxer stops writing once the socket's buffer is above the socket's own high-water mark
 * (64 KiB on Node 24), so when RabbitMQ reads slowly the backlog is in the frame queue, not in
 * the socket.
 */
export function amqpBacklog(transit: Transit | undefined): { bytes: number; frames: number } | undefined {
  const channel = (transit?.tx as { channel?: AmqpChannel } | undefined)?.channel;
  const socket = channel?.connection?.stream;
  const buffer = channel?.ch !== undefined ? channel.connection?.channels?.[channel.ch]?.buffer : undefined;
  if (!socket || !buffer) return undefined;
  const queue = buffer as Writable & { readableLength?: number };
  return { bytes: socket.writableLength, frames: queue.writableLength + (queue.readableLength ?? 0) };
}

export function TransitBackpressure(opts: TransitBackpressureOptions = {}): Middleware {
  const highWaterMark = opts.highWaterMark ?? 1024 * 1024;
  const sendHighWaterMark = opts.sendHighWaterMark ?? 1024 * 1024;
  // A frame is up to 128 KiB: this many keep the queue around the byte limit.
  const sendHighWaterFrames = Math.max(2, Math.ceil(sendHighWaterMark / (128 * 1024)));
  const maxWaitMs = opts.maxWaitMs ?? 30_000;
  let broker: ServiceBroker | undefined;
  const transit = (): Transit | undefined => broker?.transit;

  const backlogged = () => {
    const backlog = amqpBacklog(transit());
    return !!backlog && (backlog.bytes > sendHighWaterMark || backlog.frames > sendHighWaterFrames);
  };
  /** Poll (the amqplib queues only signal "drain" far above our limits) until the backlog is gone. */
  const sendable = () =>
    new Promise<void>((resolve) => {
      const deadline = Date.now() + maxWaitMs;
      const check = () => {
        if (!backlogged() || Date.now() > deadline) resolve();
        else setTimeout(check, 2).unref();
      };
      check();
    });

  const middleware: Middleware = {
    name: "TransitBackpressure",
    created(b: ServiceBroker) {
      broker = b;
    },
  };
  // moleculer's Middleware type declares the transporter hooks as returning what `send` and
  // `receive` return; they return the wrapped functions (moleculer's transit calls those).
  return Object.assign(middleware, {
    transporterSend(next: (topic: string, data: Buffer, meta: { packet?: { type?: string; payload?: { stream?: unknown } } }) => unknown) {
      return (topic: string, data: Buffer, meta: { packet?: { type?: string; payload?: { stream?: unknown } } }) => {
        const result = next(topic, data, meta);
        // Only chunks of request streams: transit waits for their send before reading on.
        if (meta?.packet?.type !== "REQ" || meta.packet.payload?.stream !== true || !backlogged()) return result;
        return Promise.resolve(result).then(sendable);
      };
    },
    transporterReceive(next: (cmd: string, data: Buffer, s: unknown) => unknown) {
      return (cmd: string, data: Buffer, s: unknown) => {
        // Handling the packet writes a stream chunk synchronously into its stream.
        const result = next(cmd, data, s);
        if (cmd !== "REQ") return result;
        const full = overfull(transit()?.pendingReqStreams, highWaterMark);
        if (!full) return result;
        return Promise.resolve(result).then(() => drained(full, maxWaitMs));
      };
    },
  });
}

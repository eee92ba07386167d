/**
 * A TCP proxy to a real server that a test can cut, stall and restore: `cut()` drops every open
 * connection and refuses new ones (as a server that went away), `stall()` keeps the connections
 * open but holds every byte in both directions (a server that hangs, or a network that drops
 * packets without resetting anything), `stallOpen()` does that to the connections open now
 * only, while new ones go through (a failover whose old server vanished without a reset),
 * `restore()` lets them through again, the held bytes first. With `uploadBytesPerSecond`, what
 * clients send reaches the server no faster than that (a slow or distant server), with TCP
 * backpressure all the way back to the client.
 */
import net from "node:net";
import { Transform } from "node:stream";
import { freePort } from "../../scripts/support/free-port.ts";

export interface TcpProxy {
  port: number;
  cut(): void;
  stall(): void;
  stallOpen(): void;
  restore(): void;
  close(): Promise<void>;
}

/** Passes bytes on at `rate` bytes per second at most. */
function throttle(rate: number): Transform {
  let next = Date.now();
  return new Transform({
    highWaterMark: 16 * 1024,
    transform(chunk: Buffer, _enc, done) {
      next = Math.max(next, Date.now()) + (chunk.length / rate) * 1000;
      setTimeout(() => done(null, chunk), next - Date.now());
    },
  });
}

/** Passes bytes on unless its connection is stalled; what arrives meanwhile waits in `held`. */
function gate(stalled: () => boolean, held: Set<() => void>): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (!stalled()) return done(null, chunk);
      const release = () => {
        held.delete(release);
        done(null, chunk);
      };
      held.add(release);
    },
  });
}

export async function startTcpProxy(
  target: { host: string; port: number },
  { uploadBytesPerSecond }: { uploadBytesPerSecond?: number } = {},
): Promise<TcpProxy> {
  const port = await freePort();
  const open = new Set<net.Socket>();
  const held = new Set<() => void>();
  let down = false;
  let stalled = false;
  /** Per connection: stalled alone (stallOpen), or with every connection (stall). */
  const connections = new Set<{ stalled: boolean }>();
  const server = net.createServer((client) => {
    if (down) return client.destroy();
    const upstream = net.connect(target);
    const connection = { stalled: false };
    connections.add(connection);
    client.on("close", () => connections.delete(connection));
    const isStalled = () => stalled || connection.stalled;
    for (const s of [client, upstream]) {
      open.add(s);
      s.on("close", () => open.delete(s));
      s.on("error", () => undefined);
    }
    (uploadBytesPerSecond ? client.pipe(throttle(uploadBytesPerSecond)) : client).pipe(gate(isStalled, held)).pipe(upstream);
    upstream.pipe(gate(isStalled, held)).pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    port,
    cut() {
      down = true;
      for (const s of open) s.destroy();
    },
    stall() {
      stalled = true;
    },
    stallOpen() {
      for (const connection of connections) connection.stalled = true;
    },
    restore() {
      down = false;
      stalled = false;
      for (const connection of connections) connection.stalled = false;
      for (const release of held) release(); // each one leaves the set: deleting while iterating a Set is safe
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}

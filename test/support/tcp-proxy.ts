/**
 * A TCP proxy to a real server that a test can cut and restore: `cut()` drops every open
 * connection and refuses new ones (as a server that went away), `restore()` lets them through
 * again. With `uploadBytesPerSecond`, what clients send reaches the server no faster than that
 * (a slow or distant server), with TCP backpressure all the way back to the client.
 */
import net from "node:net";
import { Transform } from "node:stream";
import { freePort } from "../../scripts/support/free-port.ts";

export interface TcpProxy {
  port: number;
  cut(): void;
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

export async function startTcpProxy(
  target: { host: string; port: number },
  { uploadBytesPerSecond }: { uploadBytesPerSecond?: number } = {},
): Promise<TcpProxy> {
  const port = await freePort();
  const open = new Set<net.Socket>();
  let down = false;
  const server = net.createServer((client) => {
    if (down) return client.destroy();
    const upstream = net.connect(target);
    for (const s of [client, upstream]) {
      open.add(s);
      s.on("close", () => open.delete(s));
      s.on("error", () => undefined);
    }
    (uploadBytesPerSecond ? client.pipe(throttle(uploadBytesPerSecond)) : client).pipe(upstream).pipe(client);
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
    restore() {
      down = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * The skip-or-fail rule: a suite that needs a real server checks it first. Unreachable →
 * the suite is skipped with a loud notice, unless REQUIRE_SERVICES=1 (CI), where the
 * suite fails instead. Nothing is ever skipped silently.
 */
import net from "node:net";

export const SERVERS = {
  postgres: { host: "127.0.0.1", port: 5432 },
  rabbitmq: { host: "127.0.0.1", port: 5672 },
  redis: { host: "127.0.0.1", port: 6379 },
} as const;
export type ServerName = keyof typeof SERVERS;

export function reachable(host: string, port: number, timeoutMs = 1500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** Returns `describe` when every server answers, `describe.skip` (with a notice) otherwise. */
export async function describeWithServers(...names: ServerName[]): Promise<jest.Describe> {
  const missing: string[] = [];
  for (const name of names) {
    const { host, port } = SERVERS[name];
    if (!(await reachable(host, port))) missing.push(`${name} (${host}:${port})`);
  }
  if (missing.length === 0) return describe;
  const why = `this suite needs ${missing.join(", ")}, which did not answer`;
  if (process.env.REQUIRE_SERVICES === "1") throw new Error(`REQUIRE_SERVICES=1 and ${why}.`);
  console.warn(`\n*** SKIPPED: ${why}. Start it (README, "Services") or set REQUIRE_SERVICES=1 to fail instead. ***\n`);
  return describe.skip;
}

/**
 * A PostgreSQL server of a test's own, on its own port and data directory, that the test may
 * stop, restart or kill (never the shared one on 5432). Needs the server binaries of the
 * machine's PostgreSQL (Debian: /usr/lib/postgresql/<version>/bin) and, as root, runs them as
 * the `postgres` user.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { freePort } from "../../scripts/support/free-port.ts";

const run = promisify(execFile);

export interface PrivatePostgres {
  port: number;
  /** postgres://postgres@127.0.0.1:<port>/<database> */
  url(database?: string): string;
  /** `pg_ctl stop -m fast` (sessions are told to go: 57P01), or `immediate` (a crash). */
  stop(mode?: "fast" | "immediate"): Promise<void>;
  start(): Promise<void>;
  /** Stop and start again: the few hundred milliseconds of a real restart. */
  restart(mode?: "fast" | "immediate"): Promise<void>;
  /**
   * SIGSTOP the server and every process of it: connections stay open and nothing answers (a
   * server stuck on its disk, or a VM paused); `thaw` lets it go on where it was.
   */
  freeze(): void;
  thaw(): void;
  /** Stop it and delete its data directory. */
  destroy(): Promise<void>;
}

/** The postmaster (first line of postmaster.pid) and its children (every backend and worker). */
function serverProcesses(dir: string): number[] {
  const postmaster = Number(fs.readFileSync(path.join(dir, "postmaster.pid"), "utf8").split("\n")[0]);
  const children = fs
    .readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces, so split after its ')'.
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === postmaster;
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
  return [postmaster, ...children];
}

/** The directory of the machine's PostgreSQL server binaries, or null. */
export function postgresBinaries(): string | null {
  const root = "/usr/lib/postgresql";
  if (!fs.existsSync(root)) return null;
  const versions = fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, "bin", "initdb")));
  versions.sort((a, b) => Number(b) - Number(a));
  return versions[0] ? path.join(root, versions[0], "bin") : null;
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = postgresBinaries();
  if (!bin) throw new Error("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin");
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shop-pg-"));
  const root = process.getuid?.() === 0;
  if (root) await run("chown", ["postgres:postgres", dir]);
  const as = (cmd: string, args: string[]) =>
    root ? run("runuser", ["-u", "postgres", "--", path.join(bin, cmd), ...args]) : run(path.join(bin, cmd), args);
  await as("initdb", ["-A", "trust", "-U", "postgres", "-D", dir, "--no-sync"]);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
  const ctl = (...args: string[]) => as("pg_ctl", ["-D", dir, "-l", path.join(dir, "server.log"), ...args]);
  const start = async () => void (await ctl("-o", options, "-w", "-t", "30", "start"));
  const stop = async (mode: "fast" | "immediate" = "fast") => void (await ctl("-m", mode, "-w", "-t", "30", "stop"));
  await start();
  return {
    port,
    url: (database = "postgres") => `postgres://postgres@127.0.0.1:${port}/${database}`,
    start,
    stop,
    async restart(mode = "fast") {
      await stop(mode);
      await start();
    },
    freeze() {
      for (const pid of serverProcesses(dir)) process.kill(pid, "SIGSTOP");
    },
    thaw() {
      for (const pid of serverProcesses(dir)) process.kill(pid, "SIGCONT");
    },
    async destroy() {
      for (const pid of fs.existsSync(path.join(dir, "postmaster.pid")) ? serverProcesses(dir) : []) process.kill(pid, "SIGCONT");
      await stop("immediate").catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

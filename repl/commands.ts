/**
 * The shop's own commands for the Moleculer REPL (moleculer-repl custom commands, given to
 * the broker as `replOptions.customCommands` in moleculer.config.ts). See docs/repl.md.
 *
 * Each command is thin: it calls existing actions, on whichever node runs them (so it works
 * from a REPL that joined a cluster), with the operator principal in meta, and prints a table
 * or a few lines. A refusal or a failure is one line `Error: ...`, never a stack trace
 * (moleculer-repl would log an uncaught error with its stack).
 *
 * The REPL is an operator's tool and trusts its operator (docs/repl.md): the commands act as
 * a superuser, so `setrole` may grant and revoke admin and superuser. The rules that protect
 * the shop itself still hold, because they live in the actions: the last active superuser is
 * never demoted, stock never goes below zero.
 */
import type { ReplOptions, ServiceBroker } from "moleculer";
import { ROLES, type Principal, type Role } from "../lib/access.ts";
import { ORDER_STATUSES, type OrderStatus } from "../domain/order-status.ts";
import { formatMoney } from "../lib/money.ts";

type ReplCommand = NonNullable<ReplOptions["customCommands"]>[number];

/** What moleculer-repl 0.8 passes a custom command: named arguments, then flag values. */
interface CommandArgs {
  options: Record<string, string | boolean | undefined>;
  rawCommand: string;
  [arg: string]: unknown;
}

/** The `table` package's function and border sets, handed over by moleculer-repl. */
interface Helpers {
  table(rows: unknown[][], config?: object): string;
  getBorderCharacters(name: string): object;
}

interface Command {
  command: string;
  description: string;
  options?: { option: string; description: string }[];
  action(broker: ServiceBroker, args: CommandArgs, helpers: Helpers): Promise<void>;
}

/** Who REPL commands act as (docs/repl.md: the REPL trusts its operator). */
export const OPERATOR: Principal = { id: "repl", role: "superuser" };
const asOperator = { meta: { user: OPERATOR } };

interface User {
  id: string;
  email: string;
  name: string;
  role: Role;
  active: boolean;
  emailVerified: boolean;
  twoFactorEnabled: boolean;
  createdAt: string;
}
interface Page<T> {
  rows: T[];
  total: number;
  page: number;
  pageSize: number;
  totalPages: number;
}
interface Product {
  id: string;
  sku: string;
  name: string;
  stock: number;
}
interface Order {
  id: string;
  userId: string;
  status: OrderStatus;
  items: unknown[];
  totalCents: number;
  currency: string;
  createdAt: string;
}
interface DeadLetter {
  id: string;
  event: string;
  recipient: string | null;
  attempts: number;
  lastError: string | null;
  updatedAt: string;
}

/** One line for any error: the validator's field messages, else the error's own message. */
export function describeError(err: unknown): string {
  const e = err as { message?: string; name?: string; data?: unknown };
  if (e?.name === "ValidationError" && Array.isArray(e.data)) {
    const messages = (e.data as { message?: string }[]).map((d) => d.message).filter(Boolean);
    if (messages.length) return messages.join(" ");
  }
  return String(e?.message ?? err).split("\n")[0]!;
}

/** Runs a command's work; an error is printed as one line. */
function guarded(work: Command["action"]): Command["action"] {
  return async (broker, args, helpers) => {
    try {
      await work(broker, args, helpers);
    } catch (err) {
      console.error(`Error: ${describeError(err)}`);
    }
  };
}

/** A refusal the command itself decides (bad input, nothing found): printed like an action's error. */
class CommandError extends Error {}

function print(helpers: Helpers, header: string[], rows: unknown[][]) {
  const border = helpers.getBorderCharacters("honeywell");
  console.log(
    helpers.table([header, ...rows], { border, drawHorizontalLine: (i: number, count: number) => i === 0 || i === 1 || i === count }),
  );
}

const yesNo = (v: boolean) => (v ? "yes" : "no");
const when = (iso: string) => new Date(iso).toISOString().replace(/\.\d{3}Z$/, "Z");

/**
 * The users whose e-mail or name contains `text` (case-insensitive; the first 100), and the one
 * whose e-mail is `text` (looked for on further pages too: "a@x.com" is part of "ba@x.com").
 */
async function findUsers(broker: ServiceBroker, text: string): Promise<{ exact: User | undefined; matches: Page<User> }> {
  const email = text.trim().toLowerCase();
  const list = (page: number) =>
    broker.call<Page<User>, object>("users.list", { search: text, page, pageSize: 100, sort: "email" }, asOperator);
  const matches = await list(1);
  let exact = matches.rows.find((u) => u.email === email);
  for (let page = 2; !exact && page <= matches.totalPages; page++) exact = (await list(page)).rows.find((u) => u.email === email);
  return { exact, matches };
}

async function userByEmail(broker: ServiceBroker, email: string): Promise<User> {
  const { exact } = await findUsers(broker, email);
  if (!exact) throw new CommandError(`No user with e-mail ${email}.`);
  return exact;
}

/** Sum per currency: "€24.00" or "€24.00 + US$10.00"; "-" for nothing. */
function totals(amounts: Map<string, number>): string {
  return amounts.size ? [...amounts].map(([currency, cents]) => formatMoney(cents, currency)).join(" + ") : "-";
}

async function allDeadLetters(broker: ServiceBroker): Promise<DeadLetter[]> {
  const all: DeadLetter[] = [];
  for (let page = 1; ; page++) {
    const result = await broker.call<Page<DeadLetter>, object>("mail.failed", { page, pageSize: 100 }, asOperator);
    all.push(...result.rows);
    if (page >= result.totalPages) return all;
  }
}

const commands: Command[] = [
  {
    command: "createsuperuser <email> <password> [name]",
    description: "Create a superuser (same rules as npm run createsuperuser)",
    async action(broker, args) {
      const { email, password, name } = args as CommandArgs & { email: string; password: string; name?: string };
      const user = await broker.call<{ email: string; id: string }, object>("users.createSuperuser", {
        email,
        password,
        ...(name ? { name } : {}),
      });
      console.log(`Superuser ${user.email} created (id ${user.id}).`);
    },
  },

  {
    command: "users <email>",
    description: "Find a user by e-mail (or part of an e-mail or name): role, two-factor, active",
    async action(broker, args, helpers) {
      const text = String(args.email);
      const { exact, matches } = await findUsers(broker, text);
      if (exact) {
        const u = exact;
        const lines: [string, string][] = [
          ["id", u.id],
          ["name", u.name],
          ["role", u.role],
          ["active", yesNo(u.active)],
          ["verified", yesNo(u.emailVerified)],
          ["2FA", u.twoFactorEnabled ? "on" : "off"],
          ["created", when(u.createdAt)],
        ];
        console.log(u.email);
        for (const [k, v] of lines) console.log(`  ${k.padEnd(9)} ${v}`);
        return;
      }
      if (matches.total === 0) throw new CommandError(`No user matches ${text}.`);
      console.log(
        `No user with e-mail ${text}; ${matches.total} user${matches.total === 1 ? "" : "s"} match${matches.total === 1 ? "es" : ""}:`,
      );
      print(
        helpers,
        ["e-mail", "name", "role", "active", "2FA"],
        matches.rows.map((u) => [u.email, u.name, u.role, yesNo(u.active), u.twoFactorEnabled ? "on" : "off"]),
      );
      if (matches.total > matches.rows.length) console.log(`(first ${matches.rows.length} of ${matches.total})`);
    },
  },

  {
    command: "setrole <email> <role>",
    description: `Give a user a role (${ROLES.join(", ")}); the last active superuser keeps theirs`,
    async action(broker, args) {
      const email = String(args.email);
      const role = String(args.role);
      if (!(ROLES as readonly string[]).includes(role)) throw new CommandError(`Unknown role "${role}": use ${ROLES.join(", ")}.`);
      const user = await userByEmail(broker, email);
      if (user.role === role) {
        console.log(`${user.email} is ${role} already.`);
        return;
      }
      const updated = await broker.call<User, object>("users.update", { id: user.id, role }, asOperator);
      console.log(`${updated.email}: ${user.role} → ${updated.role} (their sessions were ended).`);
    },
  },

  {
    command: "stock <sku> <delta>",
    description: "Adjust a product's stock by a signed delta (stock MUG-1 10, stock MUG-1 -3)",
    async action(broker, args) {
      const sku = String(args.sku);
      const raw = String(args.delta);
      if (!/^[+-]?\d{1,10}$/.test(raw)) throw new CommandError(`The delta must be a whole number such as 10 or -3 (got "${raw}").`);
      const delta = Number(raw);
      const product = await broker.call<Product, object>("products.adjustStock", { sku, delta }, asOperator);
      const sign = delta < 0 ? "-" : "+";
      console.log(`${product.sku} (${product.name}): stock ${product.stock - delta} → ${product.stock} (${sign}${Math.abs(delta)}).`);
    },
  },

  {
    command: "orders [status]",
    description: `Orders per status with totals; with a status (${ORDER_STATUSES.join(", ")}), the newest orders in it`,
    options: [{ option: "-p, --page <page>", description: "Page of the list for one status (20 orders a page)" }],
    async action(broker, args, helpers) {
      const status = args.status as string | undefined;
      if (status === undefined) {
        const groups = await broker.call<{ status: OrderStatus; currency: string; count: number; totalCents: number }[], object>(
          "orders.summary",
          {},
          asOperator,
        );
        const all = new Map<string, number>();
        let count = 0;
        const rows = ORDER_STATUSES.map((s) => {
          const sums = new Map<string, number>();
          let n = 0;
          for (const g of groups.filter((group) => group.status === s)) {
            n += g.count;
            sums.set(g.currency, g.totalCents);
            all.set(g.currency, (all.get(g.currency) ?? 0) + g.totalCents);
          }
          count += n;
          return [s, n, totals(sums)];
        });
        print(helpers, ["status", "orders", "total"], [...rows, ["all", count, totals(all)]]);
        return;
      }
      if (!(ORDER_STATUSES as readonly string[]).includes(status))
        throw new CommandError(`Unknown status "${status}": use ${ORDER_STATUSES.join(", ")}.`);
      const page = args.options.page === undefined ? 1 : Number(args.options.page);
      if (!Number.isInteger(page) || page < 1)
        throw new CommandError(`--page must be a whole number from 1 (got "${String(args.options.page)}").`);
      const result = await broker.call<Page<Order>, object>("orders.list", { status, page, pageSize: 20, sort: "-createdAt" }, asOperator);
      if (result.total === 0) {
        console.log(`No ${status} orders.`);
        return;
      }
      if (result.rows.length === 0) {
        console.log(
          `Page ${page} is past the last page (${result.totalPages}) of ${result.total} ${status} order${result.total === 1 ? "" : "s"}.`,
        );
        return;
      }
      // The customers' e-mails, once each (an unknown or removed user shows as the id).
      const ids = [...new Set(result.rows.map((o) => o.userId))];
      const contacts = await Promise.all(
        ids.map((id) => broker.call<{ email: string } | null, object>("users.contact", { id }).catch(() => null)),
      );
      const emailOf = new Map(ids.map((id, i) => [id, contacts[i]?.email ?? id]));
      print(
        helpers,
        ["order", "created", "customer", "items", "total"],
        result.rows.map((o) => [o.id, when(o.createdAt), emailOf.get(o.userId), o.items.length, formatMoney(o.totalCents, o.currency)]),
      );
      const first = (result.page - 1) * result.pageSize + 1;
      const more = result.page < result.totalPages ? `; --page ${result.page + 1} for more` : "";
      console.log(`${status}: ${first}-${first + result.rows.length - 1} of ${result.total}, newest first${more}.`);
    },
  },

  {
    command: "mail-retry [id]",
    description: "Re-queue dead-lettered mail: every message, or the one with this id",
    options: [{ option: "-l, --list", description: "Only list the dead-lettered messages" }],
    async action(broker, args, helpers) {
      const id = args.id as string | undefined;
      if (id !== undefined) {
        if (args.options.list) throw new CommandError("Give an id or --list, not both.");
        await broker.call("mail.retry", { id }, asOperator);
        console.log(`Re-queued ${id}.`);
        return;
      }
      const dead = await allDeadLetters(broker);
      if (dead.length === 0) {
        console.log("No dead-lettered mail.");
        return;
      }
      if (args.options.list) {
        print(
          helpers,
          ["id", "event", "recipient", "attempts", "last error", "since"],
          dead.map((d) => [d.id, d.event, d.recipient ?? "-", d.attempts, (d.lastError ?? "").slice(0, 60), when(d.updatedAt)]),
        );
        console.log(
          `${dead.length} dead-lettered message${dead.length === 1 ? "" : "s"}; mail-retry re-queues them all, mail-retry <id> one.`,
        );
        return;
      }
      let requeued = 0;
      for (const d of dead) {
        try {
          await broker.call("mail.retry", { id: d.id }, asOperator);
          requeued++;
          console.log(`Re-queued ${d.id} (${d.event} to ${d.recipient ?? "?"}).`);
        } catch (err) {
          console.error(`Error: ${d.id}: ${describeError(err)}`);
        }
      }
      console.log(`Re-queued ${requeued} of ${dead.length} dead-lettered message${dead.length === 1 ? "" : "s"}.`);
    },
  },
];

/** The custom commands, as moleculer-repl takes them (`replOptions.customCommands`). */
export const replCommands: ReplCommand[] = commands.map((c) => ({ ...c, action: guarded(c.action) }) as unknown as ReplCommand);

/** The checkout benchmark's results as plain-text tables (bench/checkout.ts). */
import type { CheckoutResult } from "./checkout.ts";
import { formatStatuses } from "./http-load.ts";
import { formatTable } from "./table.ts";

const ms = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : "-");
const perSec = (n: number) => (Number.isFinite(n) ? Math.round(n).toString() : "-");
const pct = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? "-" : `${Math.round(n)}%`);
/** 12x, 1.00x, 0.21x: whole numbers when large, two significant digits when small. */
export const ratio = (n: number) =>
  !Number.isFinite(n) ? "-" : n >= 10 ? `${n.toFixed(0)}x` : n >= 1 ? `${n.toFixed(2)}x` : `${n.toPrecision(2)}x`;

export function checkoutTables(result: CheckoutResult): string {
  const levels = result.limits.inFlight;
  const main = formatTable(
    [
      "request",
      "p50 ms",
      "p90 ms",
      "p99 ms",
      ...levels.map((n) => `req/s @${n}`),
      "failures",
      "p50 vs base",
      ...levels.map((n) => `req/s @${n} vs base`),
      "statuses (all phases)",
    ],
    result.rows.map((r) => [
      r.baseline ? `${r.request} = base` : r.request,
      ms(r.sequential.p50),
      ms(r.sequential.p90),
      ms(r.sequential.p99),
      ...r.load.map((l) => perSec(l.perSec)),
      r.failures.toString(),
      ratio(r.p50VsBaseline),
      ...r.perSecVsBaseline.map(ratio),
      formatStatuses(r.statuses),
    ]),
  );

  const groups = ["api", "users", "products", "orders", "mail", "postgres", "rabbitmq", "smtp", "bench", "other", "idle"];
  const underLoad = formatTable(
    ["request, in flight", "req/s", "p50 ms", "p99 ms", "failed", "CPU ms/req", ...groups],
    result.rows.flatMap((r) =>
      r.load.map((l) => [
        `${r.request.replace(/ \(.*\)$/, "")} @${l.inFlight}`,
        perSec(l.perSec),
        ms(l.p50),
        ms(l.p99),
        (l.requests - l.ok).toString(),
        l.cpuMsPerRequest === null ? "-" : l.cpuMsPerRequest.toFixed(2),
        ...groups.map((g) => pct(l.cpu?.[g])),
      ]),
    ),
  );

  const lines: string[] = [
    main,
    "",
    "Under load: latency of the successful requests; CPU time of the cluster (nodes, PostgreSQL, RabbitMQ) per successful request; " +
      "share of the machine's CPU (all cores) per process group:",
    "",
    underLoad,
    "",
  ];

  const checkoutRow = result.rows.find((r) => r.request.startsWith("POST"));
  const uncached = result.rows.find((r) => r.request.includes("uncached"));
  if (checkoutRow && uncached) {
    lines.push(
      `Checkout against the uncached read: p50 ${ratio(checkoutRow.sequential.p50 / uncached.sequential.p50)}, ` +
        levels.map((n, i) => `req/s @${n} ${ratio(checkoutRow.load[i]!.perSec / uncached.load[i]!.perSec)}`).join(", ") +
        ".",
    );
    for (const l of checkoutRow.load) {
      const backlog = l.mailBacklog;
      const rate = l.mail;
      if (!backlog && !rate) continue;
      const parts = [`Mail @${l.inFlight}:`];
      if (rate)
        parts.push(
          `${rate.perSecDuringPhase.toFixed(0)} mails/s during the phase against ${l.perSec.toFixed(0)} checkouts/s ` +
            `(${ratio(rate.perSecDuringPhase / l.perSec)});`,
        );
      if (backlog) {
        parts.push(
          `${backlog.queued} confirmations queued at its end` +
            (backlog.queued === 0
              ? "."
              : backlog.drainedSeconds === null
                ? ", not worked off in time."
                : `, worked off in ${backlog.drainedSeconds.toFixed(1)} s`),
        );
      }
      // A rate over a handful of mails, or over less than a second (the queue is polled every 200 ms), says nothing.
      if (backlog && rate?.perSecDraining && rate.sentWhileDraining >= 50 && (backlog.drainedSeconds ?? 0) >= 1)
        parts.push(`(${rate.perSecDraining.toFixed(0)} mails/s with the mail node alone).`);
      if (l.withMail && backlog && backlog.queued > 0)
        parts.push(
          `With its e-mails: ${l.withMail.perSec.toFixed(0)} checkouts/s until the last was sent` +
            (l.withMail.cpuMsPerRequest === null ? "." : `, ${l.withMail.cpuMsPerRequest.toFixed(2)} ms of CPU each.`),
        );
      lines.push(parts.join(" "));
    }
  }

  if (result.steps.length > 0) {
    lines.push(
      "",
      "A checkout's steps, one call at a time from a client broker on the same RabbitMQ (no HTTP, no gateway):",
      "",
      formatTable(
        ["step", "p50 ms", "p90 ms", "p99 ms", "calls", "failures"],
        result.steps.map((s) => [s.step, ms(s.p50), ms(s.p90), ms(s.p99), s.calls.toString(), s.failures.toString()]),
      ),
      "",
    );
  }

  lines.push(
    `Start-up: the ${result.nodes.length} nodes were ready (gateway ready, every replica known) ` +
      `${result.readySeconds.toFixed(1)} s after they were spawned. ` +
      `Idle RSS: ${Object.entries(result.idleRssMB)
        .map(([id, rss]) => `${id} ${rss === null ? "-" : rss.toFixed(0)} MB`)
        .join(", ")}.`,
  );
  const s = result.stock;
  lines.push(
    `Stock: ${s.initial} initial - ${s.successfulOrders} successful orders = ${s.expected} expected; database: ${s.actual}` +
      ` (${s.ordersInDatabase} orders, ${s.reservationsHeld} reservations held): ${s.ok ? "OK" : "MISMATCH"}.`,
  );

  const noisy = Object.entries(result.nodeLogs).filter(([, l]) => l.warnings + l.errors > 0);
  lines.push(
    noisy.length === 0
      ? "Node logs during the measurement: no warnings or errors."
      : `Node logs during the measurement: ` +
          `${noisy.map(([id, l]) => `${id} ${l.errors} errors, ${l.warnings} warnings`).join("; ")}. First lines:\n` +
          noisy.flatMap(([id, l]) => l.samples.map((line) => `  ${id}: ${line}`)).join("\n"),
  );
  const unclean = Object.entries(result.shutdown).filter(([, n]) => n.exitCode !== 0 || n.log.errors + n.log.warnings > 0);
  lines.push(
    unclean.length === 0
      ? `Shutdown (SIGTERM): ${Object.keys(result.shutdown).length} nodes exited with 0, nothing logged.`
      : `Shutdown (SIGTERM): ` +
          unclean
            .map(([id, n]) => `${id} exited with ${n.exitCode ?? n.signal}, ${n.log.errors} errors, ${n.log.warnings} warnings`)
            .join("; ") +
          `. First lines:\n` +
          unclean.flatMap(([id, n]) => n.log.samples.map((line) => `  ${id}: ${line}`)).join("\n"),
  );
  return lines.join("\n");
}

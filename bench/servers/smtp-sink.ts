/**
 * The checkout benchmark's mail server: accepts every message over SMTP (smtp-server, no TLS,
 * no authentication) and keeps nothing, so the mail node sends its confirmations as in
 * production (nodemailer's pooled SMTP transport) instead of writing .eml files. A separate
 * process, so its CPU is counted apart (an external mail relay: not the cluster's).
 * Prints one line `ready` once it listens on PORT.
 */
import { SMTPServer } from "smtp-server";

const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ["STARTTLS", "AUTH"],
  logger: false,
  // The mail node's pool opens up to 20 connections (bench/checkout.ts): no connection limit gets in its way.
  maxClients: 100,
  onData(stream, _session, callback) {
    stream.on("end", () => callback());
    stream.resume();
  },
});
// A client that goes away in the middle of a message (a mail node killed) resets its connection:
// smtp-server reports that as an 'error' event, which unhandled would end the sink. Anything else still does.
server.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code !== "ECONNRESET" && err.code !== "EPIPE") throw err;
});
server.listen(Number(process.env.PORT), "127.0.0.1", () => console.log("ready"));
process.once("SIGTERM", () => server.close(() => process.exit(0)));

/**
 * Pino's `hooks.logMethod` for moleculer's way of logging. Services call
 * `this.logger.error("Sending failed:", err)` or `logger.info("Node ready", details)`, as with
 * console.log; Pino keeps only the first string and silently drops the rest, so JSON logs
 * (LOG_FORMAT=json, the production default) would lose every error and its stack. This joins
 * the extra arguments into the message (util.format, like the console logger) and puts an
 * Error under `err`, which Pino serializes with its type, message and stack.
 */
import { format } from "node:util";

// Pino calls its logMethod hook on the logger: `this` is the point of it.
/* oxlint-disable oxc/no-this-in-exported-function */

export function joinLogArguments<T>(this: T, args: unknown[], method: (this: T, ...args: unknown[]) => void): void {
  if (args.length < 2 || typeof args[0] !== "string") {
    method.apply(this, args);
    return;
  }
  const err = args.find((a) => a instanceof Error);
  const message = format(...args.filter((a) => a !== err));
  if (err) method.call(this, { err }, message);
  else method.call(this, message);
}

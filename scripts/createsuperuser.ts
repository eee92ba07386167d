/**
 * npm run createsuperuser                        asks for e-mail, name and password
 * npm run createsuperuser -- --email E --password P [--name N]
 *
 * Creates a superuser in the database of DATABASE_URL (or the embedded SQLite file):
 * a node with only the users service, no transporter, calling `users.createSuperuser`,
 * so the same rules apply as everywhere (password policy, argon2id, unique e-mail).
 */
import readline from "node:readline";
import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "../lib/config.ts";
import { SqliteDriverMissingError } from "../integrations/database/sequelize.ts";
import { MigrationFailedError, migrateUp } from "../integrations/database/migrator.ts";
import { startupFailure } from "./support/startup-failure.ts";

const { values } = parseArgs({ options: { email: { type: "string" }, password: { type: "string" }, name: { type: "string" } } });

function ask(question: string, hidden = false): Promise<string> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout, terminal: true });
  if (hidden) {
    // readline's own echo (an internal of Node's, the usual way to hide a password as it is typed).
    /* oxlint-disable eslint/no-underscore-dangle */
    const write = (rl as unknown as { _writeToOutput(s: string): void })._writeToOutput.bind(rl);
    (rl as unknown as { _writeToOutput(s: string): void })._writeToOutput = (s) => write(s.startsWith(question) ? s : "");
    /* oxlint-enable eslint/no-underscore-dangle */
  }
  return new Promise((resolve) =>
    rl.question(question, (answer) => (rl.close(), hidden && process.stdout.write("\n"), resolve(answer.trim()))),
  );
}

let exitCode = 0;
try {
  // The users service alone, in this process, against the configured database.
  process.env.SERVICES = "users";
  delete process.env.TRANSPORTER;
  const config = loadConfig(process.env);
  const email = values.email ?? (await ask("E-mail: "));
  const name = values.name ?? (values.email ? undefined : (await ask("Name [Administrator]: ")) || undefined);
  let password = values.password;
  if (password === undefined) {
    password = await ask("Password: ", true);
    if ((await ask("Password (again): ", true)) !== password) throw new Error("The passwords do not match.");
  }
  if (config.migrateOnStart) await migrateUp(config.database);
  const { createBroker } = await import("../broker.ts");
  const broker = await createBroker(config, { logger: false, metrics: { enabled: false } });
  await broker.start();
  try {
    const user = await broker.call<{ id: string; email: string }, object>("users.createSuperuser", {
      email,
      password,
      ...(name ? { name } : {}),
    });
    console.log(`Superuser ${user.email} created (id ${user.id}).`);
  } finally {
    await broker.stop();
  }
} catch (err) {
  const e = err as Error & { code?: number; data?: { message?: string }[] };
  const detail = Array.isArray(e.data) ? e.data.map((d) => d.message).join(" ") : "";
  const setup = err instanceof ConfigError || err instanceof SqliteDriverMissingError || err instanceof MigrationFailedError;
  console.error(setup ? startupFailure(err).join("\n") : `Could not create the superuser: ${detail || e.message}`);
  exitCode = 1;
}
process.exit(exitCode);

/**
 * Builds a broker for a node and loads the services it runs (from config.services), with the
 * shop's REPL commands (repl/commands.ts: createsuperuser, users, setrole, stock, orders,
 * mail-retry; docs/repl.md) for `npm run repl`.
 */
import { ServiceBroker, type BrokerOptions, type ServiceSchema } from "moleculer";
import type { Config } from "./lib/config.ts";
import { brokerOptions } from "./moleculer.config.ts";
import { replCommands } from "./repl/commands.ts";

export async function loadServiceSchema(name: string): Promise<ServiceSchema> {
  const mod = (await import(`./services/${name}.service.ts`)) as { default: ServiceSchema };
  return mod.default;
}

export async function createBroker(config: Config, overrides: Partial<BrokerOptions> = {}): Promise<ServiceBroker> {
  const broker = new ServiceBroker({ ...brokerOptions(config), replOptions: { customCommands: replCommands }, ...overrides });
  for (const name of config.services) broker.createService(await loadServiceSchema(name));
  return broker;
}

/**
 * moleculer-db as this shop uses it: its default export is a service schema to mix in
 * (mixins/db.mixin.ts), which moleculer-db's own .d.ts declares as a class. tsconfig's `paths`
 * points "moleculer-db" here for the type check only; at run time the package is imported as is.
 */
import type { ServiceSchema } from "moleculer";

declare const DbService: ServiceSchema;
export default DbService;

/**
 * Loaded before server.ts (`node --import ./compile-cache.mjs server.ts`: package.json's start,
 * dev and repl, and every node scripts/support/cluster.ts spawns). It turns on Node's compile
 * cache before the first TypeScript file is read, so a node reads each source's type-stripped
 * text and V8 code from the cache instead of loading Node's TypeScript stripper and compiling
 * again: ~25 MB less RSS per node and a faster start (docs/benchmarks.md, cut 24).
 *
 * The cache is NODE_COMPILE_CACHE when set (the Docker image's, filled when the image is built by
 * scripts/warm-compile-cache.ts), else a folder in the system's temporary folder, filled by a
 * node's first start. Node checks each entry against its file's content: a changed source is
 * compiled afresh, never run stale. A cache that cannot be written only stays as it is, and
 * NODE_DISABLE_COMPILE_CACHE=1 turns it off.
 *
 * JavaScript, not TypeScript: a .ts file here would load the stripper it is meant to spare.
 */
import { enableCompileCache } from "node:module";

enableCompileCache();

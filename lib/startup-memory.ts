/**
 * Gives back the memory a node's start-up leaves behind. Loading the modules grows V8's young
 * generation to 16–32 MB, and V8 keeps it for the life of the process, idle or not. One
 * memory-reducing collection once the node has started (V8's "last resort" full GC, which also
 * shrinks the young generation to its minimum) returns it: ~20 MB of RSS per node
 * (docs/benchmarks.md, cut 25). Under load V8 grows the young generation again as it sees fit.
 *
 * The `gc` function is taken from a context of its own, as jest's leak detector takes it, with
 * the flag that exposes it set only for that moment: no code of the node sees a global `gc`.
 */
import v8 from "node:v8";
import vm from "node:vm";

type GcFunction = (options: { type: "major"; execution: "sync"; flavor: "last-resort" }) => void;

/** Whether the collection ran. It never throws: a node that started must not fail for want of it. */
export function releaseStartupMemory(): boolean {
  try {
    v8.setFlagsFromString("--expose-gc");
    const gc = vm.runInNewContext("typeof gc === 'function' ? gc : undefined") as GcFunction | undefined;
    v8.setFlagsFromString("--no-expose-gc");
    gc?.({ type: "major", execution: "sync", flavor: "last-resort" });
    return gc !== undefined;
  } catch {
    return false;
  }
}

/**
 * releaseStartupMemory, in a process of its own (V8's heap is per process): a young generation
 * grown by start-up is shrunk to its minimum, and no `gc` is left for the node's code to see.
 */
import { execFileSync } from "node:child_process";
import path from "node:path";
import { pathToFileURL } from "node:url";

const MODULE = pathToFileURL(path.resolve(import.meta.dirname, "../../../lib/startup-memory.ts")).href;

test("shrinks the young generation that start-up grew, and exposes no gc", () => {
  const script = `
    import v8 from "node:v8";
    const { releaseStartupMemory } = await import(${JSON.stringify(MODULE)});
    const youngMB = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space").space_size / 1e6;
    // What loading modules does: many short-lived objects, some kept for a while.
    const kept = [];
    for (let i = 0; i < 200_000; i++) {
      const o = { i, s: "x" + i, a: [i, i + 1] };
      if (i % 10 === 0) kept.push(o);
    }
    const grown = youngMB();
    const ran = releaseStartupMemory();
    console.log(JSON.stringify({ ran, grown, after: youngMB(), gc: typeof globalThis.gc, kept: kept.length }));
  `;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
  const { ran, grown, after, gc, kept } = JSON.parse(out.trim()) as {
    ran: boolean;
    grown: number;
    after: number;
    gc: string;
    kept: number;
  };
  expect(ran).toBe(true);
  expect(kept).toBe(20_000);
  expect(grown).toBeGreaterThanOrEqual(8);
  expect(after).toBeLessThanOrEqual(2);
  expect(gc).toBe("undefined");
});

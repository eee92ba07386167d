/**
 * For suites that run shop nodes as processes (scripts/support/cluster.ts, spawnCaptured): after
 * each test that failed, print the end of every node's output, the first thing to read then.
 * Call it inside the suite's `describe`.
 */
import type { CapturedNode } from "../../scripts/support/cluster.ts";

export function printNodeOutputOnFailure(nodes: ReadonlyMap<string, CapturedNode>, chars = 3000): void {
  afterEach(() => {
    const state = expect.getState();
    if (state.assertionCalls === state.numPassingAsserts) return;
    for (const [id, { output }] of nodes) console.log(`--- ${id}\n${output.join("").slice(-chars)}`);
  });
}

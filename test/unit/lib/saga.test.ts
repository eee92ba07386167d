import { runSaga, STOP, type SagaStep } from "../../../lib/saga.ts";

type Log = { log: string[] };
const step = (name: string, fail = false, stop = false): SagaStep<Log> => ({
  name,
  async run(s) {
    s.log.push(`run ${name}`);
    if (fail) throw new Error(`${name} failed`);
    if (stop) return STOP;
  },
  async compensate(s, err) {
    s.log.push(`undo ${name} (${(err as Error).message})`);
  },
});

describe("runSaga", () => {
  test("runs every step in order and compensates nothing when all succeed", async () => {
    const s = await runSaga({ log: [] }, [step("a"), step("b"), step("c")]);
    expect(s.log).toEqual(["run a", "run b", "run c"]);
  });

  test("a failure compensates the failed step and the ones before it, last first, then throws", async () => {
    const s: Log = { log: [] };
    await expect(runSaga(s, [step("a"), step("b", true), step("c")])).rejects.toThrow("b failed");
    expect(s.log).toEqual(["run a", "run b", "undo b (b failed)", "undo a (b failed)"]);
  });

  test("STOP ends the saga successfully without running the rest", async () => {
    const s = await runSaga({ log: [] }, [step("a", false, true), step("b")]);
    expect(s.log).toEqual(["run a"]);
  });

  test("a failing compensation is reported and the others still run", async () => {
    const s: Log = { log: [] };
    const broken: SagaStep<Log> = {
      name: "broken",
      run: async () => undefined,
      compensate: async () => {
        throw new Error("cannot undo");
      },
    };
    const reported: string[] = [];
    await expect(
      runSaga(s, [step("a"), broken, step("c", true)], (name, e) => reported.push(`${name}: ${(e as Error).message}`)),
    ).rejects.toThrow("c failed");
    expect(s.log).toEqual(["run a", "run c", "undo c (c failed)", "undo a (c failed)"]);
    expect(reported).toEqual(["broken: cannot undo"]);
  });
});

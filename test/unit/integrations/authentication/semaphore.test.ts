import { Semaphore } from "../../../../integrations/authentication/semaphore.ts";

function deferred() {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

test("runs at most `max` tasks at once and starts waiters in FIFO order", async () => {
  const sem = new Semaphore(2);
  const gates = [deferred(), deferred(), deferred(), deferred()];
  const started: number[] = [];
  let running = 0;
  let peak = 0;
  const runs = gates.map((gate, i) =>
    sem.run(async () => {
      started.push(i);
      peak = Math.max(peak, ++running);
      await gate.promise;
      running--;
      return i * 10;
    }),
  );
  await tick();
  expect(started).toEqual([0, 1]);
  expect([sem.active, sem.waiting]).toEqual([2, 2]);
  gates[1]!.resolve();
  await tick();
  expect(started).toEqual([0, 1, 2]);
  gates[0]!.resolve();
  gates[2]!.resolve();
  gates[3]!.resolve();
  expect(await Promise.all(runs)).toEqual([0, 10, 20, 30]);
  expect(started).toEqual([0, 1, 2, 3]);
  expect(peak).toBe(2);
  expect([sem.active, sem.waiting]).toEqual([0, 0]);
});

test("a failing task releases its slot and its error reaches the caller", async () => {
  const sem = new Semaphore(1);
  await expect(sem.run(() => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
  expect(sem.active).toBe(0);
  await expect(sem.run(async () => "next")).resolves.toBe("next");
});

test.each([0, -1, 1.5, NaN])("max %p is refused", (max) => {
  expect(() => new Semaphore(max)).toThrow(RangeError);
});

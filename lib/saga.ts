/**
 * A multi-step flow as named steps, each with the compensation that undoes it (Medusa's
 * `createStep(invoke, compensate)`, kept to what this shop needs). `runSaga` runs the steps
 * in order over one shared state; when a step fails, the compensations of that step and of
 * every step before it run in reverse order, then the step's error is thrown.
 *
 * The failed step is compensated too: a step that failed may still have done its work (a call
 * that timed out, a commit whose answer was lost), so each compensation must be harmless when
 * there is nothing to undo, and may look at the error to tell. A compensation that fails is
 * reported to `onCompensationError` and the others still run: making a compensation durable
 * (retried until done) is the step's own business.
 */
export interface SagaStep<S> {
  name: string;
  /** Do the step's work on `state`; returning STOP ends the saga early, successfully (e.g. a replay). */
  run(state: S): Promise<void | typeof STOP>;
  /** Undo what `run` did (or may have done, when it is the step that failed). */
  compensate?(state: S, error: unknown): Promise<void>;
}

/** What a step returns to end the saga successfully without running the steps after it. */
export const STOP = Symbol("saga.stop");

export async function runSaga<S>(
  state: S,
  steps: readonly SagaStep<S>[],
  onCompensationError: (step: string, error: unknown) => void = () => undefined,
): Promise<S> {
  const started: SagaStep<S>[] = [];
  try {
    for (const step of steps) {
      started.push(step);
      if ((await step.run(state)) === STOP) break;
    }
    return state;
  } catch (err) {
    for (const step of started.toReversed()) {
      if (!step.compensate) continue;
      try {
        await step.compensate(state, err);
      } catch (compensationError) {
        onCompensationError(step.name, compensationError);
      }
    }
    throw err;
  }
}

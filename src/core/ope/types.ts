/**
 * The input of off-policy evaluation: one logged decision with the logger's and the target's
 * probabilities, aligned by action index. Producers (the CLI, the pipeline, the shadow controller,
 * the acceptance tests) build these; the estimators consume them in one streaming pass.
 */

/** One logged decision, as the estimators see it. */
export interface LoggedSample {
  /** Observed reward in [0, 1] (already computed by the reward function, or defaulted). */
  reward: number;
  /** Index of the served action in the event's action list. */
  action: number;
  /**
   * Probability with which the logger chose `action`; `undefined` when the log did not say
   * (a deterministic rule router): never silently replaced by 1 in a weight.
   */
  loggingProb: number | undefined;
  /** The logger's full distribution when known (aligned with the action list). */
  loggingProbs?: ArrayLike<number>;
  /** The evaluated policy's distribution over the same actions (sums to 1). */
  targetProbs: ArrayLike<number>;
  /** Reward model predictions per action (for DM / DR), fitted on a different fold. */
  predicted?: ArrayLike<number>;
  /** Index of the production rules' own choice, when known. */
  baseline?: number;
  /** True when the reward is the configured default because no outcome arrived. */
  defaulted?: boolean;
}

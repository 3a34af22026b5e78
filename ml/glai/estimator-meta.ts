/** The metadata of a stored GLAI estimator bundle (written by activities/glai.ts), as its readers use it. */
import type { Contribution } from '../../contracts/forget.js';
import type { FeatureSpec } from './features.js';
import type { SolvePlan } from './solve.js';

/** What an estimator bundle's meta holds. */
export interface EstimatorMeta {
  kind: string;
  structureId: string;
  spec: FeatureSpec;
  dim: number;
  classes: number;
  count: number;
  lambda: number;
  /** How it is solved (absent on estimators stored before validation-chosen λ). */
  plan?: SolvePlan;
  validationCount?: number;
  contributions?: Contribution[];
  [key: string]: unknown;
}

/** How a stored estimator is solved: its plan, or for one stored before validation-chosen λ, plain ridge toward zero at its λ. */
export function storedPlan(meta: EstimatorMeta): SolvePlan {
  return meta.plan ?? { lambda: meta.lambda, lambdas: [], prior: 'zero', biasPenalty: 1, biasFeatures: [] };
}

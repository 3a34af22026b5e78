/**
 * When a change series settles (METHODS.md §3, structure vs weights): per epoch
 * against an absolute threshold, or — as arXiv 2602.08333 measures it — every N
 * steps, each curve normalised by its initial value, against relative thresholds.
 * Pure: workflows import it to summarize a training's history.
 */

/** First epoch (1-based) from which `values` stay under `threshold` to the end; null if never. */
export function settledEpoch(values: (number | undefined)[], threshold: number): number | null {
  let epoch: number | null = null;
  values.forEach((v, i) => {
    if (v === undefined || v >= threshold) epoch = null;
    else epoch ??= i + 1;
  });
  return epoch;
}

/** The series divided by its first value (the curve's initial change); a zero or missing start leaves it undefined. */
export function normalised(values: (number | undefined)[]): (number | undefined)[] {
  const first = values[0];
  return values.map((v) => (v === undefined || !first ? undefined : v / first));
}

/** Where patterns and weights settle under each relative threshold (normalised curves; indices 1-based) and weights ÷ patterns. */
export function settlingRatios(
  patterns: (number | undefined)[],
  weights: (number | undefined)[],
  thresholds: number[],
): { threshold: number; patterns: number | null; weights: number | null; ratio: number | null }[] {
  const [p, w] = [normalised(patterns), normalised(weights)];
  return thresholds.map((threshold) => {
    const at = { patterns: settledEpoch(p, threshold), weights: settledEpoch(w, threshold) };
    return { threshold, ...at, ratio: at.patterns && at.weights ? at.weights / at.patterns : null };
  });
}

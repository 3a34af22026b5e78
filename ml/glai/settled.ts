/**
 * When a per-epoch change series settles (METHODS.md §3, structure vs weights).
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

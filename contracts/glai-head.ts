/**
 * The model defaults of GLAI runs and the size of their feature map (METHODS.md §3),
 * decided from the config alone so a run whose statistics could not fit is refused
 * before it trains. A = Σφφᵀ is D×D float64 (and the validation split's as much
 * again), so D is bounded by `glai.maxFeatures`.
 */

/** Hidden widths of an MLP, and of a CNN's dense head, when the config gives none: [64, 32] in GLAI runs (D = 6,305 for 10 classes gated on both layers, A 303 MiB), otherwise [256, 128] and [128]. */
export function defaultWidths(kind: 'mlp' | 'cnn', glai: boolean): number[] {
  return glai ? [64, 32] : kind === 'mlp' ? [256, 128] : [128];
}

/** The model part of a config with its kind and widths resolved. */
export interface ModelWidths {
  kind: 'mlp' | 'cnn' | 'resnet';
  hidden?: number[] | undefined;
  dense?: number[] | undefined;
}

/** The hidden widths of the dense ReLU layers GLAI's features come from: an MLP's hidden layers, a CNN's dense head; null for a ResNet (no dense head). */
export function glaiHeadWidths(model: ModelWidths): number[] | null {
  if (model.kind === 'resnet') return null;
  return model.kind === 'mlp' ? (model.hidden ?? defaultWidths('mlp', true)) : (model.dense ?? defaultWidths('cnn', true));
}

/** The feature map's layers: `valueLayer` and the gating layers (`gateLayers`, else `gateLayer`, else every hidden layer). */
export function glaiLayers(glai: { valueLayer: number; gateLayer?: number | undefined; gateLayers?: number[] | undefined }, hidden: number): { valueLayer: number; gateLayers: number[] } {
  const gateLayers = glai.gateLayers ?? (glai.gateLayer !== undefined ? [glai.gateLayer] : Array.from({ length: hidden }, (_, l) => l));
  return { valueLayer: glai.valueLayer, gateLayers };
}

/** D = (n_value + 1)·(Σ n_gate + 1) for head widths `widths`. */
export function glaiFeatureDim(widths: number[], layers: { valueLayer: number; gateLayers: number[] }): number {
  return (widths[layers.valueLayer]! + 1) * (layers.gateLayers.reduce((s, l) => s + widths[l]!, 0) + 1);
}

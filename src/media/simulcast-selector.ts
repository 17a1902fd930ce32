/**
 * Layer selection for one simulcast consumer: N spatial streams (index 0 = lowest), each with
 * temporal layers. Decides per packet whether to forward it, switches spatial layer only on a
 * keyframe of the layer switched to, filters temporal layers by TID (switching up only at a
 * layer-sync frame, down at any frame start) and asks for a keyframe when a switch is wanted.
 */
import type { PayloadInfo } from './codecs.js';

/** Result of `SimulcastSelector.process`. */
export const LayerDecision = {
  Drop: 0,
  Forward: 1,
  /** Forward, and this packet starts a new source: call the rewriter's `switchSource()` first. */
  ForwardSwitched: 2,
} as const;
export type LayerDecisionCode = (typeof LayerDecision)[keyof typeof LayerDecision];

export interface SimulcastSelectorOptions {
  spatialLayers: number;
  /** Temporal layers per spatial stream (1 when the streams carry no TID). */
  temporalLayers: number;
  /** Ask the producer for a keyframe on spatial stream `spatialLayer`. */
  requestKeyFrame: (spatialLayer: number) => void;
  /** The forwarded layers changed (-1, -1 when nothing is forwarded). */
  onLayersChange?: (spatialLayer: number, temporalLayer: number) => void;
}

export class SimulcastSelector {
  readonly spatialLayers: number;
  readonly temporalLayers: number;
  currentSpatialLayer = -1;
  currentTemporalLayer = -1;
  preferredSpatialLayer: number;
  preferredTemporalLayer: number;
  /** Bandwidth hook: the highest spatial/temporal layer the consumer's estimate allows. */
  maxSpatialLayer: number;
  maxTemporalLayer: number;

  private readonly requestKeyFrame: (spatialLayer: number) => void;
  private readonly onLayersChange: ((spatialLayer: number, temporalLayer: number) => void) | undefined;
  private readonly active: Uint8Array;
  private lastTarget = -1;

  constructor(options: SimulcastSelectorOptions) {
    this.spatialLayers = Math.max(1, options.spatialLayers);
    this.temporalLayers = Math.max(1, options.temporalLayers);
    this.preferredSpatialLayer = this.spatialLayers - 1;
    this.preferredTemporalLayer = this.temporalLayers - 1;
    this.maxSpatialLayer = this.spatialLayers - 1;
    this.maxTemporalLayer = this.temporalLayers - 1;
    this.requestKeyFrame = options.requestKeyFrame;
    this.onLayersChange = options.onLayersChange;
    this.active = new Uint8Array(this.spatialLayers);
  }

  /** The spatial layer we want to forward: highest active one within preference and limits. */
  get targetSpatialLayer(): number {
    const limit = Math.min(this.preferredSpatialLayer, this.maxSpatialLayer, this.spatialLayers - 1);
    for (let s = limit; s >= 0; s--) if (this.active[s]) return s;
    // Nothing active at or below the limit: take the lowest active one above it.
    for (let s = limit + 1; s < this.spatialLayers; s++) if (this.active[s]) return s;
    return -1;
  }

  get targetTemporalLayer(): number {
    return Math.max(0, Math.min(this.preferredTemporalLayer, this.maxTemporalLayer, this.temporalLayers - 1));
  }

  setPreferredLayers(spatialLayer: number, temporalLayer = this.temporalLayers - 1): void {
    this.preferredSpatialLayer = spatialLayer;
    this.preferredTemporalLayer = temporalLayer;
    this.updateTarget();
  }

  /** Bandwidth-driven ceiling (e.g. from the consumer's estimate). */
  setMaxLayers(spatialLayer: number, temporalLayer = this.temporalLayers - 1): void {
    this.maxSpatialLayer = spatialLayer;
    this.maxTemporalLayer = temporalLayer;
    this.updateTarget();
  }

  /** A spatial stream started or stopped receiving (the producer's stream score > 0 or 0). */
  setStreamActive(spatialLayer: number, active: boolean): void {
    if (spatialLayer < 0 || spatialLayer >= this.spatialLayers) return;
    this.active[spatialLayer] = active ? 1 : 0;
    if (!active && spatialLayer === this.currentSpatialLayer) this.setCurrent(-1, -1);
    this.updateTarget();
  }

  /** Decide for one packet of spatial stream `spatialLayer`, inspected into `info`. */
  process(spatialLayer: number, info: PayloadInfo): LayerDecisionCode {
    if (spatialLayer < 0 || spatialLayer >= this.spatialLayers) return LayerDecision.Drop;
    if (!this.active[spatialLayer]) {
      // First packets of a stream: it is active from now on.
      this.active[spatialLayer] = 1;
      this.updateTarget();
    }
    const current = this.currentSpatialLayer;
    if (spatialLayer !== current) {
      if (!info.keyFrame) return LayerDecision.Drop;
      const target = this.targetSpatialLayer;
      // Move to this layer if it is the target, or closer to the target than the current one.
      const closer =
        current < 0 ||
        (spatialLayer <= target && spatialLayer > current) ||
        (spatialLayer >= target && spatialLayer < current);
      if (!closer) return LayerDecision.Drop;
      this.setCurrent(spatialLayer, this.targetTemporalLayer);
      return LayerDecision.ForwardSwitched;
    }
    const tid = info.temporalLayerId;
    if (tid < 0) return LayerDecision.Forward;
    const targetTemporal = this.targetTemporalLayer;
    if (info.startOfFrame && targetTemporal !== this.currentTemporalLayer) {
      if (targetTemporal < this.currentTemporalLayer) this.setCurrent(current, targetTemporal);
      else if (tid > this.currentTemporalLayer && tid <= targetTemporal && (info.layerSync || info.keyFrame))
        this.setCurrent(current, tid);
    }
    return tid > this.currentTemporalLayer ? LayerDecision.Drop : LayerDecision.Forward;
  }

  private setCurrent(spatialLayer: number, temporalLayer: number): void {
    if (spatialLayer === this.currentSpatialLayer && temporalLayer === this.currentTemporalLayer) return;
    this.currentSpatialLayer = spatialLayer;
    this.currentTemporalLayer = temporalLayer;
    this.onLayersChange?.(spatialLayer, temporalLayer);
  }

  private updateTarget(): void {
    const target = this.targetSpatialLayer;
    if (target === this.lastTarget) return;
    this.lastTarget = target;
    if (target >= 0 && target !== this.currentSpatialLayer) this.requestKeyFrame(target);
  }
}

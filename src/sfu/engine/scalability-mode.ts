export interface ScalabilityMode {
  spatialLayers: number;
  temporalLayers: number;
  ksvc: boolean;
}

const SCALABILITY_MODE = /^[LS]([1-9]\d{0,1})T([1-9]\d{0,1})(_KEY)?/;

/** Parses 'L1T3', 'S2T3', 'L3T2_KEY'...; anything else is one spatial and one temporal layer. */
export function parseScalabilityMode(scalabilityMode?: string): ScalabilityMode {
  const match = typeof scalabilityMode === 'string' ? SCALABILITY_MODE.exec(scalabilityMode) : null;
  if (!match) return { spatialLayers: 1, temporalLayers: 1, ksvc: false };
  return { spatialLayers: Number(match[1]), temporalLayers: Number(match[2]), ksvc: Boolean(match[3]) };
}

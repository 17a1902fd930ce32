// SFU room requests and notifications (docs/signaling-protocol.md, "SFU rooms"): zod schemas
// for what clients send, plain types for what the server answers. RTP/DTLS/SCTP parameter
// objects are checked only as bounded JSON objects here; the SFU validates their contents.
import { z } from 'zod';

const ID_MAX = 128;
const id = z.string().min(1).max(ID_MAX);
/** A JSON object whose fields the SFU itself validates (TypeError → bad_request). */
const object = z.record(z.string().max(ID_MAX), z.unknown());
const appData = object.optional();

export const emptySchema = z.object({});

export const createWebRtcTransportSchema = z.object({
  direction: z.enum(['send', 'recv']),
  /** Ask for SCTP (data channels) on this transport. */
  sctpCapabilities: object.optional(),
});
export type CreateWebRtcTransportData = z.infer<typeof createWebRtcTransportSchema>;

/** Enough shape to be usable for consuming; the SFU checks each codec when it matches them. */
const rtpCapabilitiesSchema = z
  .object({
    codecs: z
      .array(
        z
          .object({
            kind: z.enum(['audio', 'video']),
            mimeType: z.string().min(1).max(ID_MAX),
            clockRate: z.number().int().positive(),
          })
          .passthrough(),
      )
      .max(256),
    headerExtensions: z.array(object).max(256).optional(),
  })
  .passthrough();

export const setRtpCapabilitiesSchema = z.object({ rtpCapabilities: rtpCapabilitiesSchema });
export const connectWebRtcTransportSchema = z.object({ transportId: id, dtlsParameters: object });
export const restartIceSchema = z.object({ transportId: id });
export const produceSchema = z.object({
  transportId: id,
  kind: z.enum(['audio', 'video']),
  rtpParameters: object,
  appData,
});
export const produceDataSchema = z.object({
  transportId: id,
  sctpStreamParameters: object,
  label: z.string().max(ID_MAX).optional(),
  protocol: z.string().max(ID_MAX).optional(),
  appData,
});
export const producerIdSchema = z.object({ producerId: id });
export const dataProducerIdSchema = z.object({ dataProducerId: id });
export const consumerIdSchema = z.object({ consumerId: id });
export const setPreferredLayersSchema = z.object({
  consumerId: id,
  spatialLayer: z.number().int().min(0).max(15),
  temporalLayer: z.number().int().min(0).max(15).optional(),
});
export const getStatsSchema = z
  .object({ transportId: id.optional(), producerId: id.optional(), consumerId: id.optional() })
  .refine((d) => [d.transportId, d.producerId, d.consumerId].filter((v) => v !== undefined).length === 1, {
    message: 'exactly one of transportId / producerId / consumerId',
  });

// --- answers -------------------------------------------------------------------------------

export interface WebRtcTransportInfo {
  id: string;
  iceParameters: unknown;
  iceCandidates: unknown[];
  dtlsParameters: unknown;
  sctpParameters: unknown;
}

// --- notifications -------------------------------------------------------------------------

export interface NewConsumerData {
  /** The peer whose producer this consumes. */
  peerId: string;
  producerId: string;
  id: string;
  kind: 'audio' | 'video';
  rtpParameters: unknown;
  type: string;
  appData: Record<string, unknown>;
  producerPaused: boolean;
}
export interface NewDataConsumerData {
  peerId: string;
  dataProducerId: string;
  id: string;
  sctpStreamParameters: unknown;
  label: string;
  protocol: string;
  appData: Record<string, unknown>;
}
export interface ConsumerRef {
  consumerId: string;
}
export interface LayersChangedData {
  consumerId: string;
  spatialLayer: number | null;
  temporalLayer: number | null;
}
export interface ActiveSpeakerData {
  peerId: string;
  producerId: string;
}

/** SFU notifications, by method (merged into NotificationDataByMethod). */
export interface SfuNotificationDataByMethod {
  newConsumer: NewConsumerData;
  newDataConsumer: NewDataConsumerData;
  consumerClosed: ConsumerRef;
  dataConsumerClosed: { dataConsumerId: string };
  consumerPaused: ConsumerRef;
  consumerResumed: ConsumerRef;
  layersChanged: LayersChangedData;
  producerClosed: { producerId: string };
  activeSpeaker: ActiveSpeakerData;
  /** An `auto` room switched between P2P (two peers) and the SFU (three or more). */
  modeChanged: { mode: 'p2p' | 'sfu' };
  /** The room's SFU worker died and the room has a new router: set the SFU session up again. */
  sfuRestart: Record<string, never>;
}

type Obj = Record<string, unknown>;
/** SFU requests: data sent and data answered, by method (merged into RequestMethods). */
export interface SfuRequestMethods {
  getRouterRtpCapabilities: { request: Obj; response: { rtpCapabilities: unknown } };
  setRtpCapabilities: { request: { rtpCapabilities: Obj }; response: Obj };
  createWebRtcTransport: {
    request: { direction: 'send' | 'recv'; sctpCapabilities?: Obj };
    response: WebRtcTransportInfo;
  };
  connectWebRtcTransport: { request: { transportId: string; dtlsParameters: Obj }; response: Obj };
  restartIce: { request: { transportId: string }; response: { iceParameters: unknown } };
  produce: {
    request: { transportId: string; kind: 'audio' | 'video'; rtpParameters: Obj; appData?: Obj };
    response: { id: string };
  };
  produceData: {
    request: {
      transportId: string;
      sctpStreamParameters: Obj;
      label?: string;
      protocol?: string;
      appData?: Obj;
    };
    response: { id: string };
  };
  closeProducer: { request: { producerId: string }; response: Obj };
  pauseProducer: { request: { producerId: string }; response: Obj };
  resumeProducer: { request: { producerId: string }; response: Obj };
  closeDataProducer: { request: { dataProducerId: string }; response: Obj };
  pauseConsumer: { request: { consumerId: string }; response: Obj };
  resumeConsumer: { request: { consumerId: string }; response: Obj };
  setPreferredLayers: {
    request: { consumerId: string; spatialLayer: number; temporalLayer?: number };
    response: Obj;
  };
  getStats: {
    request: { transportId?: string; producerId?: string; consumerId?: string };
    response: { stats: unknown[] };
  };
}

/**
 * mediasoup's worker sends notifications as FlatBuffers tables; mediasoup's own tests inject such
 * tables through `channelForTesting.emit(targetId, event, notification)`. This reads the few
 * that API objects react to (ICE/DTLS state, selected tuple, producer and consumer scores) into
 * our event names and data, using only the buffer accessors every FlatBuffers table carries.
 */

/** The flatbuffers runtime ByteBuffer methods a generated table exposes as `bb`. */
interface ByteBuffer {
  __offset(bbPos: number, vtableOffset: number): number;
  __indirect(offset: number): number;
  __string(offset: number): string | null;
  __vector(offset: number): number;
  __vector_len(offset: number): number;
  readUint8(offset: number): number;
  readUint16(offset: number): number;
  readUint32(offset: number): number;
}

interface FlatBuffersTable {
  bb: ByteBuffer;
  bb_pos: number;
}

// Values of mediasoup's FBS.Notification.Event enum, and of the enums inside the bodies.
const EVENT_ICE_SELECTED_TUPLE_CHANGE = 6;
const EVENT_ICE_STATE_CHANGE = 7;
const EVENT_DTLS_STATE_CHANGE = 8;
const EVENT_PRODUCER_SCORE = 12;
const EVENT_CONSUMER_SCORE = 20;
const ICE_STATES = ['new', 'connected', 'completed', 'disconnected'];
const DTLS_STATES = ['new', 'connecting', 'connected', 'failed', 'closed'];
const PROTOCOLS: Record<number, string> = { 1: 'udp', 2: 'tcp' };

function isTable(value: unknown): value is FlatBuffersTable {
  const table = value as FlatBuffersTable;
  return (
    typeof table === 'object' &&
    table !== null &&
    typeof table.bb?.__offset === 'function' &&
    typeof table.bb_pos === 'number'
  );
}

/** Reads field `slot` (0-based) of the table at `pos` with `read`, or returns `fallback` when absent. */
function field<T>(bb: ByteBuffer, pos: number, slot: number, read: (at: number) => T, fallback: T): T {
  const offset = bb.__offset(pos, 4 + slot * 2);
  return offset ? read(pos + offset) : fallback;
}

function decodeBody(
  event: number,
  bb: ByteBuffer,
  body: number,
): { event: string; data: unknown } | undefined {
  const u8 = (at: number) => bb.readUint8(at);
  const table = (at: number) => bb.__indirect(at);
  const text = (at: number) => bb.__string(at) ?? undefined;
  switch (event) {
    case EVENT_ICE_STATE_CHANGE:
      return { event: 'icestatechange', data: { iceState: ICE_STATES[field(bb, body, 0, u8, 0)] } };
    case EVENT_DTLS_STATE_CHANGE:
      return {
        event: 'dtlsstatechange',
        data: {
          dtlsState: DTLS_STATES[field(bb, body, 0, u8, 0)],
          dtlsRemoteCert: field(bb, body, 1, text, undefined),
        },
      };
    case EVENT_ICE_SELECTED_TUPLE_CHANGE: {
      const tuple = field(bb, body, 0, table, 0);
      if (!tuple) return undefined;
      const localAddress = field(bb, tuple, 0, text, undefined);
      return {
        event: 'iceselectedtuplechange',
        data: {
          iceSelectedTuple: {
            localIp: localAddress,
            localAddress,
            localPort: field(bb, tuple, 1, (at) => bb.readUint16(at), 0),
            remoteIp: field(bb, tuple, 2, text, undefined),
            remotePort: field(bb, tuple, 3, (at) => bb.readUint16(at), 0),
            protocol: PROTOCOLS[field(bb, tuple, 4, u8, 1)],
          },
        },
      };
    }
    case EVENT_PRODUCER_SCORE: {
      const offset = bb.__offset(body, 4);
      if (!offset) return { event: 'score', data: [] };
      const vector = bb.__vector(body + offset);
      const scores = Array.from({ length: bb.__vector_len(body + offset) }, (_, i) => {
        const score = bb.__indirect(vector + i * 4);
        return {
          encodingIdx: field(bb, score, 0, (at) => bb.readUint32(at), 0),
          ssrc: field(bb, score, 1, (at) => bb.readUint32(at), 0),
          rid: field(bb, score, 2, text, undefined),
          score: field(bb, score, 3, u8, 0),
        };
      });
      return { event: 'score', data: scores };
    }
    case EVENT_CONSUMER_SCORE: {
      const score = field(bb, body, 0, table, 0);
      if (!score) return undefined;
      const offset = bb.__offset(score, 8);
      const producerScores = offset
        ? Array.from({ length: bb.__vector_len(score + offset) }, (_, i) =>
            bb.readUint8(bb.__vector(score + offset) + i),
          )
        : [];
      return {
        event: 'score',
        data: {
          score: field(bb, score, 0, u8, 0),
          producerScore: field(bb, score, 1, u8, 0),
          producerScores,
        },
      };
    }
    default:
      return undefined;
  }
}

/**
 * Our (event, data) for what arrived on a channel: unchanged when it is ours, translated when it
 * is a mediasoup FlatBuffers notification (numeric event), undefined when it is one we ignore.
 */
export function channelEvent(event: unknown, data: unknown): { event: string; data: unknown } | undefined {
  if (typeof event === 'string') return { event, data };
  if (typeof event !== 'number' || !isTable(data)) return undefined;
  const bb = data.bb;
  const bodyOffset = bb.__offset(data.bb_pos, 10);
  if (!bodyOffset) return undefined;
  return decodeBody(event, bb, bb.__indirect(data.bb_pos + bodyOffset));
}

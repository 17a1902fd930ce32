import type { Channel } from './channel.js';
import type { MediaKind, RtpParameters } from './engine/rtp-parameters.js';
import { TransportChild } from './transport-child.js';
import type { AppData } from './types.js';
import { checkStringArray } from './validate.js';

export type ProducerType = 'simple' | 'simulcast' | 'svc';
export type ProducerTraceEventType = 'rtp' | 'keyframe' | 'nack' | 'pli' | 'fir' | 'sr';

export interface ProducerScore {
  encodingIdx: number;
  ssrc: number;
  rid?: string;
  score: number;
}

export interface ProducerVideoOrientation {
  camera: boolean;
  flip: boolean;
  rotation: number;
}

export type ProducerEvents = {
  transportclose: [];
  score: [ProducerScore[]];
  videoorientationchange: [ProducerVideoOrientation];
  trace: [unknown];
  listenererror: [string, Error];
  '@close': [];
};

export type ProducerObserverEvents = {
  close: [];
  pause: [];
  resume: [];
  score: [ProducerScore[]];
  videoorientationchange: [ProducerVideoOrientation];
  trace: [unknown];
};

interface ProducerInit<A> {
  transportId: string;
  producerId: string;
  channel: Channel;
  kind: MediaKind;
  rtpParameters: RtpParameters;
  type: ProducerType;
  consumableRtpParameters: RtpParameters;
  paused: boolean;
  appData?: A;
}

/** Media sent by an endpoint into a router. */
export class Producer<ProducerAppData extends AppData = AppData> extends TransportChild<
  ProducerAppData,
  ProducerEvents,
  ProducerObserverEvents
> {
  readonly #kind: MediaKind;
  readonly #rtpParameters: RtpParameters;
  readonly #type: ProducerType;
  readonly #consumableRtpParameters: RtpParameters;
  #score: ProducerScore[] = [];

  /** @private */
  constructor(init: ProducerInit<ProducerAppData>) {
    super('producer', { ...init, id: init.producerId });
    this.#kind = init.kind;
    this.#rtpParameters = init.rtpParameters;
    this.#type = init.type;
    this.#consumableRtpParameters = init.consumableRtpParameters;
  }

  get kind(): MediaKind {
    return this.#kind;
  }

  get rtpParameters(): RtpParameters {
    return this.#rtpParameters;
  }

  get type(): ProducerType {
    return this.#type;
  }

  /** @private What Consumers of this Producer may receive (router payload types and SSRCs). */
  get consumableRtpParameters(): RtpParameters {
    return this.#consumableRtpParameters;
  }

  get score(): ProducerScore[] {
    return this.#score;
  }

  /** @private */
  get channelForTesting(): Channel {
    return this.channel;
  }

  protected override handleEvent(event: string, data: unknown): void {
    switch (event) {
      case 'score':
        this.#score = data as ProducerScore[];
        this.emitBoth('score', this.#score);
        return;
      case 'videoorientationchange':
        this.emitBoth('videoorientationchange', data as ProducerVideoOrientation);
        return;
      case 'trace':
        this.emitBoth('trace', data);
        return;
    }
  }

  async enableTraceEvent(types: ProducerTraceEventType[] = []): Promise<void> {
    checkStringArray(types, 'types');
    await this.request('producer.enableTraceEvent', { types });
  }

  /** Injects an RTP packet (Producers of a DirectTransport only). */
  send(rtpPacket: Buffer): void {
    if (!Buffer.isBuffer(rtpPacket)) throw new TypeError('rtpPacket must be a Buffer');
    this.channel.notify('producer.send', this.id, rtpPacket);
  }
}

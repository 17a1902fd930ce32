import type { Producer } from './producer.js';
import {
  RtpObserver,
  type RtpObserverContext,
  type RtpObserverEvents,
  type RtpObserverObserverEvents,
} from './rtp-observer.js';
import type { AppData } from './types.js';

export interface ActiveSpeakerObserverOptions<ActiveSpeakerObserverAppData extends AppData = AppData> {
  interval?: number;
  appData?: ActiveSpeakerObserverAppData;
}

export interface ActiveSpeakerObserverDominantSpeaker {
  producer: Producer;
}

export type ActiveSpeakerObserverEvents = RtpObserverEvents & {
  dominantspeaker: [ActiveSpeakerObserverDominantSpeaker];
};
export type ActiveSpeakerObserverObserverEvents = RtpObserverObserverEvents & {
  dominantspeaker: [ActiveSpeakerObserverDominantSpeaker];
};

/** Tells which audio Producer is the dominant speaker. */
export class ActiveSpeakerObserver<
  ActiveSpeakerObserverAppData extends AppData = AppData,
> extends RtpObserver<
  ActiveSpeakerObserverAppData,
  ActiveSpeakerObserverEvents,
  ActiveSpeakerObserverObserverEvents
> {
  /** @private */
  constructor(context: RtpObserverContext, appData?: ActiveSpeakerObserverAppData) {
    super(context, appData);
  }

  protected override handleEvent(event: string, data: unknown): void {
    if (event !== 'dominantspeaker') return;
    const producer = this.context.getProducerById((data as { producerId: string }).producerId);
    if (!producer) return;
    this.emitBoth('dominantspeaker', { producer });
  }
}

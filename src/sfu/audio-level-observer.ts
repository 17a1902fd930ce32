import type { Producer } from './producer.js';
import {
  RtpObserver,
  type RtpObserverContext,
  type RtpObserverEvents,
  type RtpObserverObserverEvents,
} from './rtp-observer.js';
import type { AppData } from './types.js';

export interface AudioLevelObserverOptions<AudioLevelObserverAppData extends AppData = AppData> {
  maxEntries?: number;
  threshold?: number;
  interval?: number;
  appData?: AudioLevelObserverAppData;
}

export interface AudioLevelObserverVolume {
  producer: Producer;
  volume: number;
}

export type AudioLevelObserverEvents = RtpObserverEvents & {
  volumes: [AudioLevelObserverVolume[]];
  silence: [];
};
export type AudioLevelObserverObserverEvents = RtpObserverObserverEvents & {
  volumes: [AudioLevelObserverVolume[]];
  silence: [];
};

/** Reports the loudest audio Producers (from their ssrc-audio-level extension) at an interval. */
export class AudioLevelObserver<AudioLevelObserverAppData extends AppData = AppData> extends RtpObserver<
  AudioLevelObserverAppData,
  AudioLevelObserverEvents,
  AudioLevelObserverObserverEvents
> {
  /** @private */
  constructor(context: RtpObserverContext, appData?: AudioLevelObserverAppData) {
    super(context, appData);
  }

  protected override handleEvent(event: string, data: unknown): void {
    if (event === 'volumes') {
      const volumes: AudioLevelObserverVolume[] = [];
      for (const { producerId, volume } of data as { producerId: string; volume: number }[]) {
        const producer = this.context.getProducerById(producerId);
        if (producer) volumes.push({ producer, volume });
      }
      if (volumes.length === 0) return;
      this.emitBoth('volumes', volumes);
    } else if (event === 'silence') {
      this.emitBoth('silence');
    }
  }
}

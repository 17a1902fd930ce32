import type { RtpView } from '../../wire/rtp/rtp.js';
import { type EngineContext, type Handler, requireId } from './context.js';
import type { ProducerEngine } from './producer.js';

/**
 * Audio level observers (mediasoup's AudioLevelObserver and a loudness-based
 * ActiveSpeakerObserver): they read ssrc-audio-level (RFC 6464) from the packets of the
 * Producers added to them and report at each interval.
 */
export class RtpObserverEngine implements Handler {
  readonly id: string;
  readonly producers = new Set<ProducerEngine>();
  paused = false;
  readonly #ctx: EngineContext;
  readonly #kind: 'audiolevel' | 'activespeaker';
  readonly #maxEntries: number;
  readonly #threshold: number;
  /** Sum and count of -dBov levels per producer during the current interval. */
  readonly #levels = new Map<string, { sum: number; count: number }>();
  readonly #level = { level: 0, voice: false };
  readonly #timer: NodeJS.Timeout;
  #silent = true;
  #dominantId?: string;

  constructor(
    ctx: EngineContext,
    init: { rtpObserverId: string; interval?: number; maxEntries?: number; threshold?: number },
    kind: 'audiolevel' | 'activespeaker',
    resolveProducer: (id: string) => ProducerEngine | undefined,
  ) {
    this.#ctx = ctx;
    this.id = requireId(init?.rtpObserverId, 'rtpObserverId');
    this.#kind = kind;
    this.#maxEntries = init.maxEntries ?? 1;
    this.#threshold = init.threshold ?? -80;
    this.#resolveProducer = resolveProducer;
    const interval = Math.max(kind === 'activespeaker' ? 100 : 250, Number(init.interval) || 1000);
    this.#timer = setInterval(() => this.#report(), interval);
  }

  readonly #resolveProducer: (id: string) => ProducerEngine | undefined;

  close(): void {
    clearInterval(this.#timer);
    this.producers.clear();
  }

  /** A packet of one of our producers (router ids; the audio level extension may be absent). */
  onRtp(producer: ProducerEngine, view: RtpView): void {
    if (this.paused || !producer.audioLevelExtensionId) return;
    if (!view.readAudioLevel(producer.audioLevelExtensionId, this.#level)) return;
    const entry = this.#levels.get(producer.id) ?? { sum: 0, count: 0 };
    entry.sum += this.#level.level;
    entry.count++;
    this.#levels.set(producer.id, entry);
  }

  #report(): void {
    if (this.paused) {
      this.#levels.clear();
      return;
    }
    const volumes = [...this.#levels]
      .map(([producerId, { sum, count }]) => ({ producerId, volume: -Math.round(sum / count) }))
      .filter((v) => v.volume >= this.#threshold)
      .sort((a, b) => b.volume - a.volume);
    this.#levels.clear();
    if (this.#kind === 'activespeaker') {
      const loudest = volumes[0];
      if (loudest && loudest.producerId !== this.#dominantId) {
        this.#dominantId = loudest.producerId;
        this.#ctx.emit(this.id, 'dominantspeaker', { producerId: loudest.producerId });
      }
      return;
    }
    if (volumes.length > 0) {
      this.#silent = false;
      this.#ctx.emit(this.id, 'volumes', volumes.slice(0, this.#maxEntries));
    } else if (!this.#silent) {
      this.#silent = true;
      this.#ctx.emit(this.id, 'silence');
    }
  }

  handleRequest(method: string, data: { producerId?: string }): unknown {
    switch (method) {
      case 'rtpObserver.pause':
        this.paused = true;
        return undefined;
      case 'rtpObserver.resume':
        this.paused = false;
        return undefined;
      case 'rtpObserver.addProducer': {
        const producer = this.#resolveProducer(String(data?.producerId));
        if (!producer) throw new Error('Producer not found');
        if (producer.kind !== 'audio') throw new TypeError('not an audio Producer');
        this.producers.add(producer);
        return undefined;
      }
      case 'rtpObserver.removeProducer': {
        const producer = this.#resolveProducer(String(data?.producerId));
        if (producer) {
          this.producers.delete(producer);
          this.#levels.delete(producer.id);
        }
        return undefined;
      }
      default:
        throw new Error(`unknown method ${method}`);
    }
  }
}

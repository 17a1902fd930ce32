import type { SctpParameters } from './engine/rtp-parameters.js';
import {
  type SctpState,
  Transport,
  type TransportContext,
  type TransportData,
  type TransportEvents,
  type TransportObserverEvents,
} from './transport.js';
import type { AppData } from './types.js';

type SctpStateEvents = { sctpstatechange: [SctpState] };

/**
 * Base of WebRtcTransport, PlainTransport and PipeTransport: transports over the network, with the
 * worker's description of them (`transportData`) and optional SCTP for data channels.
 */
export abstract class NetworkTransport<
  A extends AppData,
  D extends TransportData,
  E extends TransportEvents & SctpStateEvents,
  O extends TransportObserverEvents & SctpStateEvents,
> extends Transport<A, E, O> {
  readonly #data: D;

  /** @private */
  constructor(context: TransportContext, transportId: string, data: D, appData?: A) {
    super(context, transportId, appData);
    this.#data = data;
  }

  /** What the worker said about this transport, kept up to date by its notifications. */
  protected get transportData(): D {
    return this.#data;
  }

  get sctpParameters(): SctpParameters | undefined {
    return this.#data.sctpParameters;
  }

  get sctpState(): SctpState | undefined {
    return this.#data.sctpState;
  }

  protected override get sctpParametersForStreams(): SctpParameters | undefined {
    return this.#data.sctpParameters;
  }

  protected override onClosed(): void {
    if (this.#data.sctpState) this.#data.sctpState = 'closed';
  }

  protected override handleEvent(event: string, data: unknown): void {
    if (event === 'sctpstatechange') {
      const { sctpState } = data as { sctpState: SctpState };
      this.#data.sctpState = sctpState;
      this.emitBoth('sctpstatechange', ...([sctpState] as E['sctpstatechange']));
      return;
    }
    super.handleEvent(event, data);
  }
}

import type { ConsumerEngine } from './consumer.js';
import type { EngineContext } from './context.js';
import type { DataConsumerEngine, DataMessage } from './data.js';
import { type RouterLink, TransportEngine } from './transport.js';

/** Exchanges RTP and data messages with the controlling process over the IPC channel. */
export class DirectTransportEngine extends TransportEngine {
  readonly #maxMessageSize: number;

  constructor(ctx: EngineContext, router: RouterLink, transportId: string, maxMessageSize: number) {
    super(ctx, router, transportId, {});
    this.#maxMessageSize = maxMessageSize;
  }

  override sendRtp(consumer: ConsumerEngine, packet: Buffer): void {
    this.rtpSendBytes.add(packet.length);
    this.sendBytes.add(packet.length);
    this.ctx.emit(consumer.id, 'rtp', packet);
  }

  override sendRtcp(packet: Buffer): void {
    this.sendBytes.add(packet.length);
    this.ctx.emit(this.id, 'rtcp', packet);
  }

  override sendData(dataConsumer: DataConsumerEngine, message: DataMessage): boolean {
    if (message.data.length > this.#maxMessageSize) return false;
    this.sendBytes.add(message.data.length);
    this.ctx.emit(dataConsumer.id, 'message', { ppid: message.ppid, data: message.data });
    return true;
  }

  protected override get statsType(): string {
    return 'direct-transport';
  }

  protected override get direct(): boolean {
    return true;
  }

  protected override dumpSpecific(): Record<string, unknown> {
    return { maxMessageSize: this.#maxMessageSize };
  }

  protected override statsSpecific(): Record<string, unknown> {
    return {};
  }

  protected override releaseResources(): void {}
}

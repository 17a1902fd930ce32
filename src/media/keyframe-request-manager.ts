/**
 * Keyframe requests for one producer stream: coalesces PLI/FIR wishes (from consumers joining,
 * layer switches, NACK give-ups) into at most one request per `minIntervalMs`, and repeats it
 * while no keyframe arrives.
 */

export interface KeyFrameRequestManagerOptions {
  /** Sends the request (build a PLI, or a FIR with `firSequenceNumber`, as negotiated). */
  send: (firSequenceNumber: number) => void;
  /** Least time between two requests unless a keyframe arrived in between (default 1000 ms). */
  minIntervalMs?: number;
  /** A request still unanswered after this long is sent again (default 1000 ms). */
  retryMs?: number;
  /** Retries per pending request before waiting for a new wish (default 5). */
  maxRetries?: number;
}

export class KeyFrameRequestManager {
  /** Requests wanted by callers, requests actually sent, keyframes seen. */
  wanted = 0;
  sent = 0;
  keyFrames = 0;
  /** A request was sent and no keyframe arrived since. */
  pending = false;

  private readonly sendFn: (firSequenceNumber: number) => void;
  private readonly minIntervalMs: number;
  private readonly retryMs: number;
  private readonly maxRetries: number;
  private lastSentMs = -Infinity;
  private retries = 0;
  /** A wish that arrived inside the throttle interval, to be sent when it ends. */
  private deferred = false;
  private firSeq = 0;

  constructor(options: KeyFrameRequestManagerOptions) {
    this.sendFn = options.send;
    this.minIntervalMs = options.minIntervalMs ?? 1000;
    this.retryMs = options.retryMs ?? 1000;
    this.maxRetries = options.maxRetries ?? 5;
  }

  /** Ask for a keyframe. Returns true when a request went out now. */
  request(nowMs: number): boolean {
    this.wanted++;
    if (this.pending && nowMs - this.lastSentMs < this.minIntervalMs) {
      // One is on its way: its keyframe serves this wish too.
      return false;
    }
    if (nowMs - this.lastSentMs < this.minIntervalMs) {
      this.deferred = true;
      return false;
    }
    this.emit(nowMs);
    this.retries = 0;
    return true;
  }

  /** A keyframe arrived: pending requests are answered and the throttle is lifted. */
  keyFrameReceived(): void {
    this.keyFrames++;
    this.pending = false;
    this.deferred = false;
    this.lastSentMs = -Infinity;
  }

  /** Sends deferred requests and retries unanswered ones; call every ~100 ms. */
  tick(nowMs: number): void {
    if (nowMs - this.lastSentMs < this.minIntervalMs) return;
    if (this.deferred) {
      this.deferred = false;
      this.retries = 0;
      this.emit(nowMs);
    } else if (this.pending && nowMs - this.lastSentMs >= this.retryMs) {
      if (this.retries >= this.maxRetries) {
        this.pending = false;
        return;
      }
      this.retries++;
      this.emit(nowMs);
    }
  }

  private emit(nowMs: number): void {
    this.pending = true;
    this.lastSentMs = nowMs;
    this.firSeq = (this.firSeq + 1) & 0xff;
    this.sent++;
    this.sendFn(this.firSeq);
  }
}

/**
 * RFC 6464 client-to-mixer audio level accumulation for one audio stream, the input of
 * AudioLevelObserver (average volume per interval) and ActiveSpeakerObserver (voice activity).
 */
import type { RtpView } from '../wire/rtp/rtp.js';

export class AudioLevelAccumulator {
  /** Packets with a level since the last `take()`, of which with the voice flag set. */
  count = 0;
  voiceCount = 0;
  /** Sum of levels in dBov (0 loudest, −127 silence). */
  sumDbov = 0;
  /** Loudest level seen since the last `take()` (dBov), −127 when none. */
  maxDbov = -127;

  /**
   * Read the ssrc-audio-level extension `extensionId` of `view` (already reset onto a valid
   * packet). Returns the level in dBov (−127..0), or 1 when the packet has no such extension.
   */
  record(view: RtpView, extensionId: number): number {
    const at = view.findExtension(extensionId);
    if (at < 0 || view.foundExtensionLength < 1) return 1;
    const b = view.buf[at]!;
    const dbov = -(b & 0x7f);
    this.count++;
    if (b & 0x80) this.voiceCount++;
    this.sumDbov += dbov;
    if (dbov > this.maxDbov) this.maxDbov = dbov;
    return dbov;
  }

  /** Average level in dBov since the last call (−127 when no packet carried one), then reset. */
  take(): number {
    const average = this.count === 0 ? -127 : this.sumDbov / this.count;
    this.count = 0;
    this.voiceCount = 0;
    this.sumDbov = 0;
    this.maxDbov = -127;
    return average;
  }
}

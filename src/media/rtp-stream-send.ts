/**
 * Send side of one consumer stream: packet/octet counts, Sender Reports (NTP from the wall
 * clock, RTP timestamp extrapolated from the last packet sent) and RTT and loss from the
 * receiver's report blocks (RFC 3550 §6.4).
 */
import { buildSenderReport, compactNtp, ntpFromUnixMs, rttFromReport } from '../wire/rtp/rtcp.js';

export interface RtpStreamSendOptions {
  ssrc: number;
  clockRate: number;
}

export class RtpStreamSend {
  readonly ssrc: number;
  readonly clockRate: number;
  packetsSent = 0;
  /** Payload octets sent (RFC 3550: header and padding excluded). */
  octetsSent = 0;
  /** Latest RTT in ms from a report block, -1 before one with LSR arrived. */
  rttMs = -1;
  /** From the latest report block. */
  fractionLost = 0;
  packetsLost = 0;
  jitter = 0;

  private lastTimestamp = 0;
  private lastSentMs = -1;
  /** Compact NTP of our last SR; 0 until one went out, and until then any LSR is not ours. */
  private lastSrCompact = 0;

  constructor(options: RtpStreamSendOptions) {
    this.ssrc = options.ssrc >>> 0;
    this.clockRate = options.clockRate;
  }

  /** Account a packet sent (after rewriting): its RTP timestamp and payload length. */
  packetSent(timestamp: number, payloadLength: number, nowMs: number): void {
    this.packetsSent++;
    this.octetsSent += payloadLength;
    this.lastTimestamp = timestamp >>> 0;
    this.lastSentMs = nowMs;
  }

  /** A Sender Report for now (`unixMs`: wall clock, `nowMs`: the clock of packetSent). Undefined before any packet. */
  buildSenderReport(nowMs: number, unixMs: number = Date.now()): Buffer | undefined {
    if (this.lastSentMs < 0) return undefined;
    const { ntpSeconds, ntpFraction } = ntpFromUnixMs(unixMs);
    const elapsed = Math.max(0, nowMs - this.lastSentMs);
    const rtpTimestamp = (this.lastTimestamp + Math.round((elapsed * this.clockRate) / 1000)) >>> 0;
    this.lastSrCompact = compactNtp(ntpSeconds, ntpFraction);
    return buildSenderReport({
      ssrc: this.ssrc,
      ntpSeconds,
      ntpFraction,
      rtpTimestamp,
      packetCount: this.packetsSent >>> 0,
      octetCount: this.octetsSent >>> 0,
      reports: [],
    });
  }

  /**
   * A report block about this stream, read in place: `buf[at .. at+24)` as in an RR or SR.
   * Updates loss, jitter and the RTT (wall clock `unixMs` of arrival). Returns the RTT or -1.
   */
  receiveReportBlock(buf: Buffer, at: number, unixMs: number = Date.now()): number {
    if (!(Number.isInteger(at) && at >= 0 && at + 24 <= buf.length)) return -1;
    this.fractionLost = buf[at + 4]!;
    this.packetsLost = ((buf[at + 5]! << 24) | (buf[at + 6]! << 16) | (buf[at + 7]! << 8)) >> 8;
    this.jitter = buf.readUInt32BE(at + 12);
    const lastSr = buf.readUInt32BE(at + 16);
    const dlsr = buf.readUInt32BE(at + 20);
    if (lastSr === 0 || this.lastSrCompact === 0) return -1;
    const { ntpSeconds, ntpFraction } = ntpFromUnixMs(unixMs);
    const rtt = rttFromReport(compactNtp(ntpSeconds, ntpFraction), lastSr, dlsr);
    if (rtt === undefined) return -1;
    this.rttMs = rtt;
    return rtt;
  }
}

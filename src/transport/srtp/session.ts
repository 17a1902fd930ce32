import { SrtpContext, type SrtpErrorCode } from './context.js';
import type { SrtpProfileName } from './profiles.js';

export interface SrtpSessionOptions {
  profile: SrtpProfileName;
  /** Our sending master key and salt (e.g. from srtpKeysFromKeyingMaterial). */
  localKey: Buffer;
  localSalt: Buffer;
  /** The peer's sending master key and salt. */
  remoteKey: Buffer;
  remoteSalt: Buffer;
  /** Most SSRCs tracked per direction; default 1024. */
  maxSsrcs?: number;
}

/** Both directions of one DTLS-SRTP association: protect with local keys, unprotect with remote. */
export class SrtpSession {
  readonly outbound: SrtpContext;
  readonly inbound: SrtpContext;

  constructor(options: SrtpSessionOptions) {
    const maxSsrcs = options.maxSsrcs;
    this.outbound = new SrtpContext({
      profile: options.profile,
      masterKey: options.localKey,
      masterSalt: options.localSalt,
      ...(maxSsrcs !== undefined ? { maxSsrcs } : {}),
    });
    this.inbound = new SrtpContext({
      profile: options.profile,
      masterKey: options.remoteKey,
      masterSalt: options.remoteSalt,
      ...(maxSsrcs !== undefined ? { maxSsrcs } : {}),
    });
  }

  protectRtp(pkt: Buffer, length: number = pkt.length): Buffer | SrtpErrorCode {
    return this.outbound.protectRtp(pkt, length);
  }
  /** A complete RTP header plus the payload after it (see SrtpContext.protectRtpParts). */
  protectRtpParts(header: Buffer, payload: Buffer): Buffer | SrtpErrorCode {
    return this.outbound.protectRtpParts(header, payload);
  }
  /** Decrypts in place; returns a view over `pkt` or an SrtpError code. */
  unprotectRtp(pkt: Buffer): Buffer | SrtpErrorCode {
    return this.inbound.unprotectRtp(pkt);
  }
  /** The plaintext length after decrypting in place, or the negated SrtpError code. */
  unprotectRtpInPlace(pkt: Buffer): number {
    return this.inbound.unprotectRtpInPlace(pkt);
  }
  protectRtcp(pkt: Buffer, length: number = pkt.length): Buffer | SrtpErrorCode {
    return this.outbound.protectRtcp(pkt, length);
  }
  /** Decrypts in place; returns a view over `pkt` or an SrtpError code. */
  unprotectRtcp(pkt: Buffer): Buffer | SrtpErrorCode {
    return this.inbound.unprotectRtcp(pkt);
  }
}

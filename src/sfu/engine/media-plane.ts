import type { TransportEngine, Tuple } from './transport.js';

/**
 * The secure media plane of a WebRtcTransport (ICE-lite, DTLS, SRTP, SCTP), plugged in by the
 * transport layer. The engine owns the sockets and hands it every datagram; the media plane
 * answers through `send`, decrypts RTP into `deliverRtp` and encrypts what Consumers send.
 */
export interface WebRtcMediaPlane {
  /** A datagram (or RFC 4571 frame on ICE-TCP) received on one of the transport's sockets. */
  receive(data: Buffer, tuple: Tuple, reply: (data: Buffer) => void): void;
  /** Plain RTP from a Consumer, to encrypt and send on the selected tuple. */
  sendRtp(packet: Buffer): void;
  /** Plain RTCP from the SFU (e.g. PLI for the remote's Producers), to encrypt and send. */
  sendRtcp?(packet: Buffer): void;
  /** An SCTP packet to send as DTLS application data (false before DTLS is connected). */
  sendApplicationData?(data: Buffer): boolean;
  /** The transport's new ICE credentials (restartIce()). */
  restartIce?(iceParameters: { usernameFragment: string; password: string }): void;
  close(): void;
}

export interface WebRtcMediaPlaneHost {
  /** The transport served (its producers and consumers, for RTCP feedback). */
  readonly transport?: TransportEngine;
  /**
   * Decrypted RTP from the remote endpoint. `storeOnly`: a repair that came too late to forward,
   * for the Producer's packet store (receivers may still NACK it), not for the Consumers.
   */
  deliverRtp(packet: Buffer, storeOnly?: boolean): void;
  /** DTLS application data (SCTP packets) from the remote endpoint. */
  deliverApplicationData?(data: Buffer): void;
  emit(
    event: 'icestatechange' | 'iceselectedtuplechange' | 'dtlsstatechange' | 'sctpstatechange',
    data: unknown,
  ): void;
}

export type WebRtcMediaPlaneFactory = (
  options: {
    iceParameters: { usernameFragment: string; password: string };
    remoteDtlsParameters: { role: string; fingerprints: { algorithm: string; value: string }[] };
    dtlsRole: 'client' | 'server';
  },
  host: WebRtcMediaPlaneHost,
) => WebRtcMediaPlane;

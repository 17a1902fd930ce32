/**
 * Keyframe and layer inspection of video RTP payloads: VP8 (RFC 7741), H264 (RFC 6184) and VP9
 * (draft-ietf-payload-vp9). Each function is total over (buf, offset, length): it fills a
 * reusable `PayloadInfo` and returns false on a malformed or truncated payload.
 */

/** What one RTP payload says about its frame. Reused across packets: no allocation. */
export class PayloadInfo {
  /** The packet carries the start of a frame (VP8 S bit with partition 0, VP9 B bit...). */
  startOfFrame = false;
  /** The packet starts a keyframe (VP8/VP9), or carries an IDR slice or an SPS (H264). */
  keyFrame = false;
  /** PictureID (7 or 15 bits), -1 when absent. */
  pictureId = -1;
  /** True when the PictureID is 15 bits long (M bit). */
  pictureIdLong = false;
  /** TL0PICIDX, -1 when absent. */
  tl0PicIdx = -1;
  /** Temporal layer id (TID), -1 when absent. */
  temporalLayerId = -1;
  /** Layer sync (VP8 Y bit, VP9 U bit): the frame depends only on the base temporal layer. */
  layerSync = false;
  /** VP8 KEYIDX, -1 when absent. */
  keyIdx = -1;
  /** VP9 spatial layer id, -1 when absent. */
  spatialLayerId = -1;
  /** Frame size from a keyframe header (VP8) or scalability structure (VP9); 0 when unknown. */
  width = 0;
  height = 0;
  /** Byte offset (absolute) of the codec payload after the descriptor. */
  descriptorEnd = 0;
  /** Absolute offsets of the PictureID and TL0PICIDX fields (for rewriting), -1 when absent. */
  pictureIdAt = -1;
  tl0PicIdxAt = -1;

  reset(): void {
    this.startOfFrame = false;
    this.keyFrame = false;
    this.pictureId = -1;
    this.pictureIdLong = false;
    this.tl0PicIdx = -1;
    this.temporalLayerId = -1;
    this.layerSync = false;
    this.keyIdx = -1;
    this.spatialLayerId = -1;
    this.width = 0;
    this.height = 0;
    this.descriptorEnd = 0;
    this.pictureIdAt = -1;
    this.tl0PicIdxAt = -1;
  }
}

function inRange(buf: Uint8Array, offset: number, length: number): boolean {
  return (
    Number.isInteger(offset) &&
    Number.isInteger(length) &&
    offset >= 0 &&
    length >= 0 &&
    offset + length <= buf.length
  );
}

/**
 * VP8 payload descriptor (RFC 7741 §4.2) and, on the first packet of a frame, the payload
 * header (§4.3) and keyframe header (RFC 6386 §9.1) for width and height.
 */
export function inspectVp8(buf: Uint8Array, offset: number, length: number, out: PayloadInfo): boolean {
  out.reset();
  if (!inRange(buf, offset, length) || length < 1) return false;
  const end = offset + length;
  const b0 = buf[offset]!;
  let at = offset + 1;
  if (b0 & 0x80) {
    if (at >= end) return false;
    const x = buf[at++]!;
    if (x & 0x80) {
      if (at >= end) return false;
      out.pictureIdAt = at;
      const p0 = buf[at++]!;
      if (p0 & 0x80) {
        if (at >= end) return false;
        out.pictureId = ((p0 & 0x7f) << 8) | buf[at++]!;
        out.pictureIdLong = true;
      } else out.pictureId = p0;
    }
    if (x & 0x40) {
      if (at >= end) return false;
      out.tl0PicIdxAt = at;
      out.tl0PicIdx = buf[at++]!;
    }
    if (x & 0x30) {
      if (at >= end) return false;
      const tk = buf[at++]!;
      if (x & 0x20) {
        out.temporalLayerId = tk >> 6;
        out.layerSync = (tk & 0x20) !== 0;
      }
      if (x & 0x10) out.keyIdx = tk & 0x1f;
    }
  }
  out.descriptorEnd = at;
  out.startOfFrame = (b0 & 0x10) !== 0 && (b0 & 0x07) === 0;
  if (!out.startOfFrame || at >= end) return at <= end;
  // Payload header: P bit clear means keyframe; a keyframe starts with the 0x9d012a start code.
  if ((buf[at]! & 0x01) !== 0) return true;
  if (at + 10 > end || buf[at + 3] !== 0x9d || buf[at + 4] !== 0x01 || buf[at + 5] !== 0x2a) return true;
  out.keyFrame = true;
  out.width = (buf[at + 6]! | (buf[at + 7]! << 8)) & 0x3fff;
  out.height = (buf[at + 8]! | (buf[at + 9]! << 8)) & 0x3fff;
  return true;
}

const NAL_IDR = 5;
const NAL_SPS = 7;
const NAL_STAP_A = 24;
const NAL_FU_A = 28;

/**
 * H264 (RFC 6184): single NAL unit, STAP-A and FU-A. Keyframe when an IDR slice (5) or an SPS
 * (7) starts in this packet; startOfFrame when a NAL unit (not a continuation) starts here; width
 * and height from an SPS carried whole (single NAL or STAP-A).
 */
export function inspectH264(buf: Uint8Array, offset: number, length: number, out: PayloadInfo): boolean {
  out.reset();
  if (!inRange(buf, offset, length) || length < 1) return false;
  const end = offset + length;
  const nal = buf[offset]! & 0x1f;
  out.descriptorEnd = offset;
  if (nal >= 1 && nal <= 23) {
    out.startOfFrame = true;
    out.keyFrame = nal === NAL_IDR || nal === NAL_SPS;
    if (nal === NAL_SPS) readH264SpsSize(buf, offset + 1, end, out);
    return true;
  }
  if (nal === NAL_STAP_A) {
    out.startOfFrame = true;
    let at = offset + 1;
    // Bounded by the payload: each unit advances at least 2 bytes.
    while (at + 2 < end) {
      const size = (buf[at]! << 8) | buf[at + 1]!;
      if (size === 0 || at + 2 + size > end) return false;
      const type = buf[at + 2]! & 0x1f;
      if (type === NAL_IDR || type === NAL_SPS) out.keyFrame = true;
      if (type === NAL_SPS) readH264SpsSize(buf, at + 3, at + 2 + size, out);
      at += 2 + size;
    }
    return at === end;
  }
  if (nal === NAL_FU_A) {
    if (length < 2) return false;
    const fu = buf[offset + 1]!;
    const start = (fu & 0x80) !== 0;
    const type = fu & 0x1f;
    out.startOfFrame = start;
    out.keyFrame = start && (type === NAL_IDR || type === NAL_SPS);
    return true;
  }
  // STAP-B, MTAP, FU-B and reserved types: not used by WebRTC (packetization-mode 0/1).
  return false;
}

/**
 * Exp-Golomb bit reader over an H264 RBSP inside buf[start .. end), skipping emulation
 * prevention bytes (00 00 03) on the fly. Reads past the end yield zeros and set `overrun`.
 */
class H264BitReader {
  private buf: Uint8Array = new Uint8Array(0);
  private at = 0;
  private end = 0;
  private bit = 0;
  private current = 0;
  private zeros = 0;
  overrun = false;

  reset(buf: Uint8Array, start: number, end: number): void {
    this.buf = buf;
    this.at = start;
    this.end = end;
    this.bit = 8;
    this.zeros = 0;
    this.overrun = false;
  }

  u1(): number {
    if (this.bit === 8) {
      if (this.at >= this.end) {
        this.overrun = true;
        return 0;
      }
      let byte = this.buf[this.at++]!;
      if (this.zeros >= 2 && byte === 3) {
        this.zeros = 0;
        if (this.at >= this.end) {
          this.overrun = true;
          return 0;
        }
        byte = this.buf[this.at++]!;
      }
      this.zeros = byte === 0 ? this.zeros + 1 : 0;
      this.current = byte;
      this.bit = 0;
    }
    return (this.current >> (7 - this.bit++)) & 1;
  }

  bits(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 2 + this.u1();
    return v;
  }

  /** ue(v); more than 31 leading zeros is malformed (overrun). */
  ue(): number {
    let zeros = 0;
    while (this.u1() === 0) {
      if (++zeros > 31 || this.overrun) {
        this.overrun = true;
        return 0;
      }
    }
    return 2 ** zeros - 1 + this.bits(zeros);
  }

  se(): number {
    const k = this.ue();
    return k & 1 ? (k + 1) / 2 : -k / 2;
  }
}

const spsReader = new H264BitReader();
/** profile_idc values whose SPS carries chroma format, bit depths and scaling matrices. */
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/**
 * Frame size from an H264 SPS (ITU-T H.264 §7.3.2.1.1) whose RBSP is buf[start .. end), after the
 * NAL header byte; sets out.width/height, or leaves them 0 when the SPS is malformed.
 */
function readH264SpsSize(buf: Uint8Array, start: number, end: number, out: PayloadInfo): void {
  const r = spsReader;
  r.reset(buf, start, end);
  const profile = r.bits(8);
  r.bits(16); // constraint flags, level_idc
  r.ue(); // seq_parameter_set_id
  let chromaFormat = 1;
  if (HIGH_PROFILES.has(profile)) {
    chromaFormat = r.ue();
    if (chromaFormat === 3) r.u1(); // separate_colour_plane_flag
    r.ue(); // bit_depth_luma_minus8
    r.ue(); // bit_depth_chroma_minus8
    r.u1(); // qpprime_y_zero_transform_bypass_flag
    if (r.u1()) {
      // Scaling lists: skipped by reading their delta_scale values.
      const lists = chromaFormat === 3 ? 12 : 8;
      for (let i = 0; i < lists && !r.overrun; i++) {
        if (!r.u1()) continue;
        const size = i < 6 ? 16 : 64;
        let last = 8;
        let next = 8;
        for (let j = 0; j < size && !r.overrun; j++) {
          if (next !== 0) next = (last + r.se() + 256) % 256;
          last = next === 0 ? last : next;
        }
      }
    }
  }
  r.ue(); // log2_max_frame_num_minus4
  const pocType = r.ue();
  if (pocType === 0) r.ue();
  else if (pocType === 1) {
    r.u1();
    r.se();
    r.se();
    const cycle = r.ue();
    for (let i = 0; i < cycle && !r.overrun; i++) r.se();
  }
  r.ue(); // max_num_ref_frames
  r.u1(); // gaps_in_frame_num_value_allowed_flag
  const widthMbs = r.ue() + 1;
  const heightMapUnits = r.ue() + 1;
  const frameMbsOnly = r.u1();
  if (!frameMbsOnly) r.u1(); // mb_adaptive_frame_field_flag
  r.u1(); // direct_8x8_inference_flag
  let cropLeft = 0;
  let cropRight = 0;
  let cropTop = 0;
  let cropBottom = 0;
  if (r.u1()) {
    cropLeft = r.ue();
    cropRight = r.ue();
    cropTop = r.ue();
    cropBottom = r.ue();
  }
  if (r.overrun) return;
  // Crop units (Table 6-1): 4:2:0 halves both directions, 4:2:2 only the horizontal one.
  const cropUnitX = chromaFormat === 1 || chromaFormat === 2 ? 2 : 1;
  const cropUnitY = (chromaFormat === 1 ? 2 : 1) * (2 - frameMbsOnly);
  const width = widthMbs * 16 - cropUnitX * (cropLeft + cropRight);
  const height = (2 - frameMbsOnly) * heightMapUnits * 16 - cropUnitY * (cropTop + cropBottom);
  if (width > 0 && height > 0 && width < 0x10000 && height < 0x10000) {
    out.width = width;
    out.height = height;
  }
}

/**
 * VP9 payload descriptor (flexible and non-flexible modes) with the scalability structure's
 * first spatial layer size. Keyframe: not inter-predicted (P clear), start of frame (B) and
 * spatial layer 0 (or no layer indices).
 */
export function inspectVp9(buf: Uint8Array, offset: number, length: number, out: PayloadInfo): boolean {
  out.reset();
  if (!inRange(buf, offset, length) || length < 1) return false;
  const end = offset + length;
  const b0 = buf[offset]!;
  const hasPictureId = (b0 & 0x80) !== 0;
  const interPicture = (b0 & 0x40) !== 0;
  const hasLayers = (b0 & 0x20) !== 0;
  const flexible = (b0 & 0x10) !== 0;
  const beginning = (b0 & 0x08) !== 0;
  const hasStructure = (b0 & 0x02) !== 0;
  let at = offset + 1;
  if (hasPictureId) {
    if (at >= end) return false;
    const p0 = buf[at++]!;
    if (p0 & 0x80) {
      if (at >= end) return false;
      out.pictureId = ((p0 & 0x7f) << 8) | buf[at++]!;
      out.pictureIdLong = true;
    } else out.pictureId = p0;
  }
  if (hasLayers) {
    if (at >= end) return false;
    const l = buf[at++]!;
    out.temporalLayerId = l >> 5;
    out.layerSync = (l & 0x10) !== 0;
    out.spatialLayerId = (l >> 1) & 0x07;
    if (!flexible) {
      if (at >= end) return false;
      out.tl0PicIdx = buf[at++]!;
    }
  }
  if (flexible && interPicture) {
    // Up to 3 reference indices, each with an N bit saying another follows.
    for (let i = 0; i < 3; i++) {
      if (at >= end) return false;
      if ((buf[at++]! & 0x01) === 0) break;
      if (i === 2) return false;
    }
  }
  if (hasStructure) {
    if (at >= end) return false;
    const ss = buf[at++]!;
    const spatialLayers = (ss >> 5) + 1;
    const hasSizes = (ss & 0x10) !== 0;
    const hasGroup = (ss & 0x08) !== 0;
    if (hasSizes) {
      if (at + spatialLayers * 4 > end) return false;
      out.width = (buf[at]! << 8) | buf[at + 1]!;
      out.height = (buf[at + 2]! << 8) | buf[at + 3]!;
      at += spatialLayers * 4;
    }
    if (hasGroup) {
      if (at >= end) return false;
      const pictures = buf[at++]!;
      for (let i = 0; i < pictures; i++) {
        if (at >= end) return false;
        const refs = (buf[at++]! >> 2) & 0x03;
        at += refs;
        if (at > end) return false;
      }
    }
  }
  out.descriptorEnd = at;
  out.startOfFrame = beginning;
  out.keyFrame = !interPicture && beginning && out.spatialLayerId <= 0;
  return at <= end;
}

/**
 * Keeps VP8 PictureID and TL0PICIDX continuous on a consumer across source switches (simulcast
 * layer change, replaced producer), as mediasoup does: after `switchSource()` the next frame
 * gets the last PictureID + 1 and the last TL0PICIDX + 1 (it is a keyframe, so on layer 0).
 * Rewrites in place the fields `inspectVp8` located.
 */
export class Vp8DescriptorRewriter {
  private pictureIdOffset = 0;
  private tl0Offset = 0;
  private lastPictureId = -1;
  private lastTl0 = -1;
  private syncPending = true;

  switchSource(): void {
    this.syncPending = true;
  }

  /**
   * `info` must come from `inspectVp8` on this packet; `shift` moves its field offsets when the
   * packet was copied elsewhere (copy's offset − original's offset).
   */
  rewrite(buf: Uint8Array, info: PayloadInfo, shift = 0): void {
    if (this.syncPending) {
      this.syncPending = false;
      if (info.pictureId >= 0 && this.lastPictureId >= 0)
        this.pictureIdOffset = (this.lastPictureId + 1 - info.pictureId) & 0x7fff;
      if (info.tl0PicIdx >= 0 && this.lastTl0 >= 0)
        this.tl0Offset = (this.lastTl0 + 1 - info.tl0PicIdx) & 0xff;
    }
    const pidAt = info.pictureIdAt < 0 ? -1 : info.pictureIdAt + shift;
    if (pidAt >= 0 && pidAt + 1 < buf.length && info.pictureId >= 0) {
      const pid = (info.pictureId + this.pictureIdOffset) & 0x7fff;
      if (info.pictureIdLong) {
        buf[pidAt] = 0x80 | (pid >> 8);
        buf[pidAt + 1] = pid;
      } else buf[pidAt] = pid & 0x7f;
      const diff = (pid - this.lastPictureId) & 0x7fff;
      if (this.lastPictureId < 0 || (diff !== 0 && diff < 0x4000)) this.lastPictureId = pid;
    }
    const tl0At = info.tl0PicIdxAt < 0 ? -1 : info.tl0PicIdxAt + shift;
    if (tl0At >= 0 && tl0At < buf.length && info.tl0PicIdx >= 0) {
      const tl0 = (info.tl0PicIdx + this.tl0Offset) & 0xff;
      buf[tl0At] = tl0;
      const diff = (tl0 - this.lastTl0) & 0xff;
      if (this.lastTl0 < 0 || (diff !== 0 && diff < 0x80)) this.lastTl0 = tl0;
    }
  }
}

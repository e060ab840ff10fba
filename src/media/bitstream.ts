import type { CodecName } from "./types.ts";

/**
 * Cheap sanity checks on depacketized frames, so bytes that merely parsed as RTP payload (garbage, or a
 * frame missing its start) are not written as a decodable frame. They look at the codec's own headers,
 * not the RTP payload descriptor.
 */

/** VP8 key frame: frame tag with key bit 0, then start code 9d 01 2a (RFC 6386 §9.1). */
function vp8Key(d: Buffer): boolean {
  return d.length >= 10 && (d[0] & 1) === 0 && d[3] === 0x9d && d[4] === 0x01 && d[5] === 0x2a;
}

/** VP9 key frame (VP9 spec §6.2 uncompressed header): frame_type 0 followed by sync code 49 83 42. */
function vp9Key(d: Buffer): boolean {
  if (d.length < 5) return false;
  const bit = (i: number) => (d[i >> 3] >> (7 - (i & 7))) & 1;
  if (bit(0) !== 1 || bit(1) !== 0) return false; // frame_marker
  const profile = bit(2) | (bit(3) << 1);
  let pos = profile === 3 ? 5 : 4;
  if (bit(pos++) === 1) return false; // show_existing_frame
  if (bit(pos) !== 0) return false; // frame_type: 0 = key frame
  pos += 3; // frame_type, show_frame, error_resilient_mode
  let code = 0;
  for (let i = 0; i < 24; i++) code = (code << 1) | bit(pos + i);
  return code === 0x498342;
}

/** H.264 Annex B access unit with SPS (7) and an IDR slice (5): where a decoder can start (browsers repeat SPS/PPS per IDR). */
function h264Key(d: Buffer): boolean {
  let sps = false;
  let idr = false;
  for (let i = 0; i + 4 < d.length; i++) {
    if (d[i] === 0 && d[i + 1] === 0 && d[i + 2] === 1) {
      const type = d[i + 3] & 0x1f;
      if (type === 7) sps = true;
      else if (type === 5) idr = true;
    }
  }
  return sps && idr;
}

/**
 * AV1 temporal unit that starts a coded video sequence: a sequence header OBU (type 1) with a plausible payload
 * (at least 3 bytes: profile, level, frame size fields) and a frame or frame header OBU (type 6 or 3) after it.
 */
function av1Key(d: Buffer): boolean {
  let sequenceHeader = false;
  for (let o = 0; o < d.length; ) {
    const header = d[o];
    if (header & 0x80) return false; // forbidden bit
    const type = (header >> 3) & 0xf;
    o += 1 + ((header >> 2) & 1); // extension byte
    let size = d.length - o; // without a size field the OBU runs to the end
    if (header & 2) {
      size = 0;
      for (let i = 0; ; i++) {
        if (i === 8 || o >= d.length) return false;
        const b = d[o++];
        size += (b & 0x7f) * 2 ** (7 * i);
        if (!(b & 0x80)) break;
      }
    }
    if (o + size > d.length) return false;
    if (type === 1) sequenceHeader = size >= 3;
    else if ((type === 6 || type === 3) && sequenceHeader && size > 0) return true;
    o += size;
  }
  return false;
}

/** Opus packet structure (RFC 6716 §3.4, rules R1–R7, simplified): false for what no decoder accepts. */
function opusValid(d: Buffer): boolean {
  if (d.length < 1) return false;
  const code = d[0] & 3;
  const n = d.length - 1;
  if (code === 0) return n <= 1275;
  if (code === 1) return n % 2 === 0 && n / 2 <= 1275;
  if (code === 2) {
    if (n < 1) return false;
    const first = d[1] >= 252 ? (n >= 2 ? d[1] + 4 * d[2] : -1) : d[1];
    const used = d[1] >= 252 ? 2 : 1;
    return first >= 0 && first <= n - used;
  }
  if (n < 1) return false;
  const frames = d[1] & 0x3f;
  return frames > 0 && frames <= 48;
}

/** True if a frame the depacketizer called a keyframe really starts one. */
export function isValidKeyframe(codec: CodecName, data: Buffer): boolean {
  switch (codec) {
    case "vp8": return vp8Key(data);
    case "vp9": return vp9Key(data);
    case "h264": return h264Key(data);
    case "av1": return av1Key(data);
    default: return true;
  }
}

/** True if an audio frame is structurally valid for its codec. */
export function isValidAudioFrame(codec: CodecName, data: Buffer): boolean {
  return codec === "opus" ? opusValid(data) : data.length > 0;
}

/** Samples (at 48 kHz) an Opus packet decodes to, from its TOC byte (RFC 6716 §3.1); 0 if malformed. */
export function opusSamples(d: Buffer): number {
  if (d.length < 1) return 0;
  const config = d[0] >> 3;
  const frameTenthsMs = config < 12 ? [100, 200, 400, 600][config & 3] : config < 16 ? [100, 200][config & 1] : [25, 50, 100, 200][config & 3];
  const code = d[0] & 3;
  const frames = code === 0 ? 1 : code < 3 ? 2 : d.length > 1 ? d[1] & 0x3f : 0;
  return (frameTenthsMs * 48 * frames) / 10;
}

/** A 20 ms Opus frame that decodes to silence (CELT, fullband, mono; decoders upmix it for stereo streams). */
export const OPUS_SILENCE_20MS: Buffer = Buffer.from([0xf8, 0xff, 0xfe]);
/** The same, coded as stereo (TOC "s" bit), for streams whose packets are stereo. */
const OPUS_SILENCE_20MS_STEREO: Buffer = Buffer.from([0xfc, 0xff, 0xfe]);

/** A silent frame coded like `neighbour` (mono or stereo), so filled gaps do not flip the stream's channel coding. */
export function opusSilenceLike(neighbour: Buffer | undefined): Buffer {
  return neighbour && neighbour.length > 0 && (neighbour[0] & 0x04) !== 0 ? OPUS_SILENCE_20MS_STEREO : OPUS_SILENCE_20MS;
}

/** Frame size from a VP8 keyframe header (RFC 6386 §9.1: start code 9d 01 2a, then 14-bit width and height). */
export function vp8Size(data: Buffer): { width: number; height: number } | undefined {
  if (!vp8Key(data)) return undefined;
  return { width: data.readUInt16LE(6) & 0x3fff, height: data.readUInt16LE(8) & 0x3fff };
}

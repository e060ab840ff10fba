import type { CodecName } from "./types.ts";

/**
 * Cheap sanity checks on depacketized frames, so bytes that merely parsed as RTP payload (garbage, or a
 * frame missing its start) are not written as a decodable frame. They look at the codec's own headers,
 * not the RTP payload descriptor.
 */

/**
 * VP8 frame tag (RFC 6386 §9.1): key bit, version 0–3, show_frame, and a first partition that fits the frame.
 * A key frame adds the start code 9d 01 2a and a non-zero width and height. Random bytes that merely start
 * like a key frame fail these (ffmpeg: "Invalid profile", "Header size larger than data provided").
 */
function vp8Frame(d: Buffer): boolean {
  if (d.length < 3) return false;
  const tag = vp8Tag(d);
  if (((d[0] >> 1) & 7) > 3 || tag.firstPartition === 0 || tag.partitionsAt > d.length) return false; // version, first partition
  if (tag.key && !((d[0] & 0x10) !== 0 && vp8Key(d) && (d.readUInt16LE(6) & 0x3fff) > 0 && (d.readUInt16LE(8) & 0x3fff) > 0)) return false;
  return vp8PartitionsFit(d, tag);
}

/** The frame tag's fields (RFC 6386 §9.1): key frame or not, the first partition's size, and where it ends. */
interface Vp8Tag {
  key: boolean;
  firstPartition: number;
  partitionsAt: number;
}

function vp8Tag(d: Buffer): Vp8Tag {
  const key = (d[0]! & 1) === 0;
  const firstPartition = (d[0]! | (d[1]! << 8) | (d[2]! << 16)) >>> 5;
  return { key, firstPartition, partitionsAt: (key ? 10 : 3) + firstPartition };
}

/**
 * The DCT token partitions after the first one (RFC 6386 §9.5): their count is the last field of the frame header,
 * read here with the boolean decoder (§7, §19.2); each needs at least a byte, and their 3-byte sizes must fit the
 * frame. Random bytes that pass the frame tag checks fail this in ~3 of 4 cases (ffmpeg: "Invalid partitions"); the
 * rest decode without an error, as noise.
 */
function vp8PartitionsFit(d: Buffer, tag: Vp8Tag): boolean {
  const partitions = tokenPartitions(d, tag);
  const sizes = tag.partitionsAt;
  let at = sizes + 3 * (partitions - 1);
  if (partitions === 0 || at > d.length) return false;
  for (let i = 0; i < partitions - 1; i++) {
    const size = d.readUIntLE(sizes + 3 * i, 3);
    if (size < 1) return false;
    at += size;
  }
  return at < d.length; // the last partition holds the rest: at least a byte
}

/** How many DCT token partitions a VP8 frame says it has (1, 2, 4 or 8; the frame header's last field), 0 if unreadable. */
export function vp8TokenPartitions(d: Buffer): number {
  return tokenPartitions(d, vp8Tag(d));
}

function tokenPartitions(d: Buffer, { key, partitionsAt, firstPartition }: Vp8Tag): number {
  const bits = new BoolDecoder(d, partitionsAt - firstPartition, partitionsAt);
  if (key) bits.literal(2); // color space, clamping type
  if (bits.literal(1)) { // segmentation enabled
    const updateMap = bits.literal(1);
    if (bits.literal(1)) { // segment feature data
      bits.literal(1);
      bits.skipUpdates(4, 7 + 1); // quantizer: value and sign
      bits.skipUpdates(4, 6 + 1); // loop filter level: value and sign
    }
    if (updateMap) bits.skipUpdates(3, 8); // segment map probabilities
  }
  bits.literal(1 + 6 + 3); // filter type, loop filter level, sharpness
  if (bits.literal(1) && bits.literal(1)) { // loop filter deltas enabled and updated
    bits.skipUpdates(4, 6 + 1); // reference frames: value and sign
    bits.skipUpdates(4, 6 + 1); // modes: value and sign
  }
  const partitions = 1 << bits.literal(2);
  // A header that runs past its partition is no encoder's: decoders then disagree on what follows (libvpx reads
  // zeros, ffmpeg one more byte of the frame), so no count read from it can be trusted.
  return bits.overrun ? 0 : partitions;
}

/** RFC 6386 §7.3's boolean decoder over d[from, to) (zeros past the end, noted in `overrun`); only `literal`. */
class BoolDecoder {
  private readonly d: Buffer;
  private readonly to: number;
  private at: number;
  private value: number;
  private range = 255;
  private bitCount = 0;
  constructor(d: Buffer, from: number, to: number) {
    this.d = d;
    this.to = to;
    this.at = from;
    this.value = (this.next() << 8) | this.next();
  }
  /** Set once a byte past the end was needed (counting the decoder's two bytes of look-ahead). */
  overrun = false;
  private next(): number {
    if (this.at < this.to) return this.d[this.at++]!;
    this.overrun = true;
    return 0;
  }
  private bool(): number {
    const split = 1 + (((this.range - 1) * 128) >> 8);
    const bigSplit = split << 8;
    let bit = 0;
    if (this.value >= bigSplit) {
      bit = 1;
      this.range -= split;
      this.value -= bigSplit;
    } else this.range = split;
    while (this.range < 128) {
      this.value <<= 1;
      this.range <<= 1;
      if (++this.bitCount === 8) {
        this.bitCount = 0;
        this.value |= this.next();
      }
    }
    return bit;
  }
  /** `count` optional fields, each a flag followed, when set, by `bits` bits (RFC 6386's "L(1), then L(n)" groups). */
  skipUpdates(count: number, bits: number): void {
    for (let i = 0; i < count; i++) if (this.literal(1)) this.literal(bits);
  }

  /** An n-bit unsigned literal, most significant bit first, each at probability 1/2 (RFC 6386's L(n)). */
  literal(n: number): number {
    let v = 0;
    while (n-- > 0) v = (v << 1) | this.bool();
    return v;
  }
}

/** VP8 key frame: frame tag with key bit 0, then start code 9d 01 2a (RFC 6386 §9.1). */
function vp8Key(d: Buffer): boolean {
  return d.length >= 10 && (d[0] & 1) === 0 && d[3] === 0x9d && d[4] === 0x01 && d[5] === 0x2a;
}

/** VP9 uncompressed header start (§6.2): frame_marker 2, and the reserved zero bit of profile 3. */
function vp9Frame(d: Buffer): boolean {
  if (d.length < 1 || d[0] >> 6 !== 2) return false;
  const profile = ((d[0] >> 5) & 1) | (((d[0] >> 4) & 1) << 1);
  return profile !== 3 || (d[0] & 0x08) === 0;
}

/** H.264 Annex B: starts with a start code, and each NAL header has forbidden_zero_bit 0 and a type of 1–23. */
function h264Frame(d: Buffer): boolean {
  if (d.length < 5 || d[0] !== 0 || d[1] !== 0 || !(d[2] === 1 || (d[2] === 0 && d[3] === 1))) return false;
  for (let i = 0; i + 3 < d.length; i++) {
    if (d[i] === 0 && d[i + 1] === 0 && d[i + 2] === 1) {
      const nal = d[i + 3];
      if (nal & 0x80 || (nal & 0x1f) === 0 || (nal & 0x1f) > 23) return false;
      i += 3;
    }
  }
  return true;
}

/**
 * Walks the OBUs of an AV1 temporal unit (low-overhead bitstream format, AV1 spec §5.3) and calls `visit` with each
 * OBU's type and payload size, until `visit` returns true. False if an OBU before that is malformed: forbidden bit
 * set, a size field longer than 8 bytes or cut off, or a size that runs past the end.
 */
function eachObu(d: Buffer, visit: (type: number, size: number) => boolean | void): boolean {
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
    if (visit(type, size)) return true;
    o += size;
  }
  return true;
}

/** AV1 temporal unit: OBUs with forbidden bit 0, sizes that fit, and at least one frame, frame header or tile group. */
function av1Frame(d: Buffer): boolean {
  let picture = false;
  const wellFormed = eachObu(d, (type) => {
    if (type === 3 || type === 4 || type === 6) picture = true;
  });
  return wellFormed && picture;
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

/** profile_idc values of H.264 (Annex A and G/H): an SPS naming another is not one. */
const H264_PROFILES = new Set([66, 77, 88, 100, 110, 122, 244, 44, 83, 86, 118, 128, 134, 135, 138, 139]);
/** level_idc values of H.264 (Table A-1; 9 is level 1b). */
const H264_LEVELS = new Set([9, 10, 11, 12, 13, 20, 21, 22, 30, 31, 32, 40, 41, 42, 50, 51, 52, 60, 61, 62]);

/**
 * H.264 Annex B access unit with an SPS (7) and an IDR slice (5): where a decoder can start (browsers repeat SPS/PPS
 * per IDR). The SPS must name a real profile and level with its reserved bits zero, and the IDR slice must have a
 * body: a one-byte "IDR" next to a two-byte "SPS" is random data (a fuzz test found it).
 */
function h264Key(d: Buffer): boolean {
  let sps = false;
  let idr = false;
  const starts: number[] = [];
  for (let i = 0; i + 3 < d.length; i++) {
    if (d[i] === 0 && d[i + 1] === 0 && d[i + 2] === 1) starts.push((i += 3));
  }
  starts.forEach((at, n) => {
    // The NAL unit runs to the next start code (whose leading zero byte of a 4-byte code it does not own).
    let end = n + 1 < starts.length ? starts[n + 1] - 3 : d.length;
    if (end > at && d[end - 1] === 0 && n + 1 < starts.length) end--;
    const type = d[at] & 0x1f;
    if (type === 7 && end - at >= 4) {
      sps ||= H264_PROFILES.has(d[at + 1]) && (d[at + 2] & 0x03) === 0 && H264_LEVELS.has(d[at + 3]);
    } else if (type === 5 && end - at >= 2) idr = true;
  });
  return sps && idr;
}

/**
 * AV1 temporal unit that starts a coded video sequence: a sequence header OBU (type 1) with a plausible payload
 * (at least 3 bytes: profile, level, frame size fields) and a frame or frame header OBU (type 6 or 3) after it.
 */
function av1Key(d: Buffer): boolean {
  let sequenceHeader = false;
  let frameAfterIt = false;
  // Stops at the first frame after a sequence header: what follows it does not change the answer.
  const wellFormed = eachObu(d, (type, size) => {
    if (type === 1) sequenceHeader = size >= 3;
    else if ((type === 6 || type === 3) && sequenceHeader && size > 0) frameAfterIt = true;
    return frameAfterIt;
  });
  return wellFormed && frameAfterIt;
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

/**
 * True if a depacketized video frame is structurally what its codec's decoder accepts (header fields in range,
 * sizes that fit). A frame that fails is garbage, which a decoder would reject without touching its state: it
 * is dropped without breaking the chain of frames around it.
 */
export function isValidVideoFrame(codec: CodecName, data: Buffer): boolean {
  switch (codec) {
    case "vp8": return vp8Frame(data);
    case "vp9": return vp9Frame(data);
    case "h264": return h264Frame(data);
    case "av1": return av1Frame(data);
    default: return true;
  }
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

/**
 * A minimal streaming Matroska writer: just enough for ffmpeg to read timestamped frames from a
 * pipe (`-f matroska -i pipe:0`) and copy them into the final file. Unknown-size Segment and
 * Clusters, SimpleBlocks, millisecond timestamps. It never seeks, so it suits a pipe.
 */
import type { CodecName, MediaKind } from "../../media/types.ts";

export interface MkvTrack {
  kind: MediaKind;
  codec: CodecName;
  /** Video only, when known (ffmpeg probes the stream otherwise). */
  width?: number;
  height?: number;
  /** Audio only. */
  sampleRate?: number;
  channels?: number;
  codecPrivate?: Buffer;
}

const codecIds: Record<CodecName, string> = {
  vp8: "V_VP8",
  vp9: "V_VP9",
  av1: "V_AV1",
  h264: "V_MPEG4/ISO/AVC",
  opus: "A_OPUS",
  pcmu: "A_MS/ACM",
  pcma: "A_MS/ACM",
};

const UNKNOWN_SIZE = Buffer.from([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

function id(hex: number): Buffer {
  const bytes = hex > 0xffffff ? 4 : hex > 0xffff ? 3 : hex > 0xff ? 2 : 1;
  const b = Buffer.alloc(bytes);
  b.writeUIntBE(hex, 0, bytes);
  return b;
}

/** Bytes of the EBML variable-length size of `n`. */
function vintLength(n: number): number {
  for (let len = 1; len <= 8; len++) if (n < 2 ** (7 * len) - 1) return len;
  throw new RangeError(`EBML size too large: ${n}`);
}

/** Writes the EBML variable-length size of `n` in `len` bytes at `at`. */
function writeVint(b: Buffer, at: number, n: number, len: number): void {
  let v = n;
  for (let i = len - 1; i >= 0; i--) {
    b[at + i] = v & 0xff;
    v = Math.floor(v / 256);
  }
  b[at] |= 1 << (8 - len);
}

/** EBML variable-length size. */
export function vint(n: number): Buffer {
  const len = vintLength(n);
  const b = Buffer.alloc(len);
  writeVint(b, 0, n, len);
  return b;
}

function el(idHex: number, body: Buffer | Buffer[]): Buffer {
  const data = Array.isArray(body) ? Buffer.concat(body) : body;
  return Buffer.concat([id(idHex), vint(data.length), data]);
}

function uint(idHex: number, value: number): Buffer {
  let bytes = 1;
  while (bytes < 6 && value >= 2 ** (8 * bytes)) bytes++;
  const b = Buffer.alloc(bytes);
  b.writeUIntBE(value, 0, bytes);
  return el(idHex, b);
}

function str(idHex: number, value: string): Buffer {
  return el(idHex, Buffer.from(value, "utf8"));
}

function float(idHex: number, value: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeDoubleBE(value);
  return el(idHex, b);
}

/** OpusHead (RFC 7845 §5.1), what Matroska's A_OPUS CodecPrivate holds. */
export function opusHead(channels: number, sampleRate = 48000, preSkip = 312): Buffer {
  const b = Buffer.alloc(19);
  b.write("OpusHead", 0, "ascii");
  b[8] = 1;
  b[9] = channels;
  b.writeUInt16LE(preSkip, 10);
  b.writeUInt32LE(sampleRate, 12);
  b.writeInt16LE(0, 16);
  b[18] = 0;
  return b;
}

/** WAVEFORMATEX for G.711 (A_MS/ACM): tag 7 = mu-law, 6 = A-law. */
function waveFormat(codec: "pcmu" | "pcma", sampleRate: number, channels: number): Buffer {
  const b = Buffer.alloc(18);
  b.writeUInt16LE(codec === "pcmu" ? 7 : 6, 0);
  b.writeUInt16LE(channels, 2);
  b.writeUInt32LE(sampleRate, 4);
  b.writeUInt32LE(sampleRate * channels, 8);
  b.writeUInt16LE(channels, 12);
  b.writeUInt16LE(8, 14);
  b.writeUInt16LE(0, 16);
  return b;
}

/** EBML header + Segment start + Info + Tracks. Track numbers are 1-based in array order. */
export function mkvHeader(tracks: readonly MkvTrack[]): Buffer {
  const ebml = el(0x1a45dfa3, [
    uint(0x4286, 1), uint(0x42f7, 1), uint(0x42f2, 4), uint(0x42f3, 8),
    str(0x4282, "matroska"), uint(0x4287, 4), uint(0x4285, 2),
  ]);
  const info = el(0x1549a966, [uint(0x2ad7b1, 1_000_000), str(0x4d80, "recbot"), str(0x5741, "recbot")]);
  const entries = tracks.map((t, i) => {
    const parts = [uint(0xd7, i + 1), uint(0x73c5, i + 1), uint(0x83, t.kind === "video" ? 1 : 2), str(0x86, codecIds[t.codec]), uint(0x9c, 0)];
    let priv = t.codecPrivate;
    if (t.kind === "video") {
      if (t.width && t.height) parts.push(el(0xe0, [uint(0xb0, t.width), uint(0xba, t.height)]));
    } else {
      const rate = t.sampleRate ?? 48000;
      const channels = t.channels ?? 1;
      parts.push(el(0xe1, [float(0xb5, rate), uint(0x9f, channels)]));
      if (t.codec === "opus") {
        priv ??= opusHead(channels, rate);
        // CodecDelay = the OpusHead pre-skip in ns: without it ffmpeg does not trim the encoder's lookahead and
        // audio plays 6.5 ms late. SeekPreRoll 80 ms as the WebM/Opus mapping asks.
        parts.push(uint(0x56aa, Math.round((priv.readUInt16LE(10) / 48000) * 1e9)), uint(0x56bb, 80_000_000));
      }
      if (t.codec === "pcmu" || t.codec === "pcma") priv ??= waveFormat(t.codec, rate, channels);
    }
    if (priv) parts.push(el(0x63a2, priv));
    return el(0xae, parts);
  });
  const segmentStart = Buffer.concat([id(0x18538067), UNKNOWN_SIZE]);
  return Buffer.concat([ebml, segmentStart, info, el(0x1654ae6b, entries)]);
}

/** Start of an unknown-size Cluster at an absolute time in ms. */
export function mkvCluster(timeMs: number): Buffer {
  return Buffer.concat([id(0x1f43b675), UNKNOWN_SIZE, uint(0xe7, timeMs)]);
}

/** SimpleBlock header (element id, size, track, relative time, flags); the frame data follows it. */
export function mkvBlockHeader(trackNumber: number, relativeMs: number, keyframe: boolean, dataLength: number): Buffer {
  // One small buffer per frame, the size written in place (this runs for every frame of every session).
  const sizeLength = vintLength(4 + dataLength);
  const b = Buffer.allocUnsafe(1 + sizeLength + 4);
  b[0] = 0xa3;
  writeVint(b, 1, 4 + dataLength, sizeLength);
  let o = 1 + sizeLength;
  b[o++] = 0x80 | trackNumber; // track numbers < 127 fit a 1-byte vint
  b.writeInt16BE(relativeMs, o);
  o += 2;
  b[o] = keyframe ? 0x80 : 0;
  return b;
}

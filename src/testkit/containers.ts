/** One encoded frame of a clip, as read back from ffmpeg's output files. */
export interface EncodedFrame {
  /** Seconds from the start of the clip. */
  time: number;
  data: Buffer;
  keyframe: boolean;
}

/** IVF: 32-byte file header, then 12-byte frame headers (size, 64-bit pts in the header's time base). */
export function parseIvf(buf: Buffer): EncodedFrame[] {
  if (buf.toString("ascii", 0, 4) !== "DKIF") throw new Error("not an IVF file");
  const headerLength = buf.readUInt16LE(6);
  const rate = buf.readUInt32LE(16);
  const scale = buf.readUInt32LE(20);
  const frames: EncodedFrame[] = [];
  for (let o = headerLength; o + 12 <= buf.length; ) {
    const size = buf.readUInt32LE(o);
    const pts = Number(buf.readBigUInt64LE(o + 4));
    const data = buf.subarray(o + 12, o + 12 + size);
    frames.push({ time: (pts * scale) / rate, data, keyframe: (data[0] & 1) === 0 });
    o += 12 + size;
  }
  return frames;
}

/** Ogg Opus packets (after OpusHead/OpusTags), timed by their 20 ms duration. */
export function parseOggOpus(buf: Buffer): EncodedFrame[] {
  const packets: Buffer[] = [];
  let partial: Buffer[] = [];
  for (let o = 0; o + 27 <= buf.length; ) {
    if (buf.toString("ascii", o, o + 4) !== "OggS") throw new Error(`bad Ogg page at ${o}`);
    const segments = buf[o + 26];
    const table = buf.subarray(o + 27, o + 27 + segments);
    let p = o + 27 + segments;
    for (const lace of table) {
      partial.push(buf.subarray(p, p + lace));
      p += lace;
      if (lace < 255) {
        packets.push(Buffer.concat(partial));
        partial = [];
      }
    }
    o = p;
  }
  return packets.slice(2).map((data, i) => ({ time: i * 0.02, data, keyframe: true }));
}

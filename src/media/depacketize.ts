import { dePacketizeRtpPackets, type RtpPacket } from "werift";
import type { CodecName } from "./types.ts";

/** werift's depacketizer names for the codecs depacketized by werift. */
const weriftName = { vp9: "VP9", h264: "MPEG4/ISO/AVC", av1: "AV1" } as const;

export interface Depacketized {
  isKeyframe: boolean;
  data: Buffer;
}

/**
 * One frame's RTP packets (in order, same timestamp) → the codec frame. VP8 and the audio codecs are the bulk of
 * the packets and take a few lines each, so they are done here without werift's per-packet objects and copies (the
 * receive path's allocations feed the GC; docs/bench.md); VP9, H.264 and AV1 go through werift's depacketizers.
 * Throws on input a depacketizer cannot read.
 */
export function depacketize(codec: CodecName, packets: RtpPacket[]): Depacketized {
  switch (codec) {
    case "opus":
    case "pcmu":
    case "pcma":
      // One packet is one frame; the payload is the frame as it is (RFC 7587, RFC 3551).
      return { isKeyframe: true, data: packets.length === 1 ? packets[0].payload : Buffer.concat(packets.map((p) => p.payload)) };
    case "vp8":
      return vp8(packets);
    default:
      return dePacketizeRtpPackets(weriftName[codec], packets);
  }
}

/**
 * Length of the VP8 payload descriptor at the start of `payload` (RFC 7741 4.2): the first byte, the
 * extension byte when X is set, then the picture id (1 or 2 bytes by its M bit), TL0PICIDX, TID/KEYIDX.
 */
export function vp8DescriptorLength(payload: Buffer): number {
  let n = 1;
  if (payload[0] & 0x80) {
    const ext = payload[1];
    n++;
    if (ext & 0x80) n += payload[n] & 0x80 ? 2 : 1; // I: picture id, M: 15 bits
    if (ext & 0x40) n++; // L: TL0PICIDX
    if (ext & 0x30) n++; // T or K: TID/Y/KEYIDX
  }
  return n;
}

function vp8(packets: RtpPacket[]): Depacketized {
  let total = 0;
  let isKeyframe = false;
  for (const p of packets) {
    const payload = p.payload;
    const offset = vp8DescriptorLength(payload);
    if (offset < payload.length) total += payload.length - offset;
    // S set and partition index 0: the VP8 payload header follows; its P bit is 0 on a keyframe (RFC 7741 4.3).
    if ((payload[0] & 0x17) === 0x10 && offset < payload.length && (payload[offset] & 1) === 0) isKeyframe = true;
  }
  const data = Buffer.allocUnsafe(total);
  let at = 0;
  for (const p of packets) {
    const payload = p.payload;
    const offset = vp8DescriptorLength(payload);
    if (offset < payload.length) at += payload.copy(data, at, offset);
  }
  return { isKeyframe, data };
}

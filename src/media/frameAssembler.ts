import { dePacketizeRtpPackets, type RtpPacket } from "werift";
import { isValidAudioFrame, isValidKeyframe } from "./bitstream.ts";
import type { CodecName, MediaKind } from "./types.ts";

/** werift's depacketizer names for our codecs. */
const depacketizerName = {
  vp8: "VP8",
  vp9: "VP9",
  h264: "MPEG4/ISO/AVC",
  av1: "AV1",
  opus: "OPUS",
  pcmu: "PCMU",
  pcma: "PCMA",
} as const;

export interface AssembledFrame {
  keyframe: boolean;
  data: Buffer;
  rtpTimestamp: number;
}

export interface AssemblerOutput {
  frame(frame: AssembledFrame): void;
  /** Decoding cannot go on without a keyframe (start of stream, or a frame was lost). */
  needKeyframe(): void;
  /** A frame was given up (incomplete, undecodable, or before the first keyframe). */
  dropped(): void;
}

/**
 * Groups in-order RTP packets of one track into frames (same RTP timestamp; the marker bit or a new
 * timestamp ends a frame) and depacketizes them. Video is only passed on from a keyframe on, and
 * again from the next keyframe after any loss, so no frame is written as if it were complete.
 */
export class FrameAssembler {
  private readonly packets: RtpPacket[] = [];
  private broken = false;
  private waitingForKeyframe: boolean;
  private readonly video: boolean;
  private readonly codec: CodecName;
  private readonly out: AssemblerOutput;

  constructor(codec: CodecName, kind: MediaKind, out: AssemblerOutput) {
    this.codec = codec;
    this.out = out;
    this.video = kind === "video";
    this.waitingForKeyframe = this.video;
  }

  /** `gapBefore`: sequence numbers lost right before this packet (from the jitter buffer). */
  push(packet: RtpPacket, gapBefore: number): void {
    const lost = gapBefore > 0 && this.video;
    if (packet.header.padding && packet.payload.length === 0) {
      // Padding only (werift strips the padding): a sender probing bandwidth. It used a sequence number, which the
      // jitter buffer has accounted for, but it is no part of any frame.
      if (lost) {
        this.broken = true;
        this.waitingForKeyframe = true;
      }
      return;
    }
    // The lost packets may be the tail of the frame in progress, whole frames between, or the start of
    // this one: without codec headers we cannot tell, so both frames and the chain after them are suspect.
    if (lost) this.broken = true;
    const current = this.packets.length ? this.packets[0].header.timestamp : undefined;
    if (current !== undefined && packet.header.timestamp !== current) this.finishUnmarked();
    if (lost) {
      this.broken = true;
      this.waitingForKeyframe = true;
    }
    this.packets.push(packet);
    if (packet.header.marker || !this.video) this.finish();
  }

  /** End of stream: a trailing video frame without its marker is incomplete. */
  flush(): void {
    if (this.packets.length) this.finishUnmarked();
  }

  /** Ends a frame whose marker packet never came: senders mark the last packet of every video frame. */
  private finishUnmarked(): void {
    if (this.video) this.broken = true;
    this.finish();
  }

  private finish(): void {
    const packets = this.packets;
    let result: { isKeyframe: boolean; data: Buffer } | undefined;
    try {
      if (!this.broken) result = dePacketizeRtpPackets(depacketizerName[this.codec], packets);
    } catch {
      result = undefined; // garbage payload: treat like a lost frame
    }
    const rtpTimestamp = packets[0].header.timestamp;
    packets.length = 0;
    this.broken = false;

    if (result && result.data.length > 0 && !this.video && !isValidAudioFrame(this.codec, result.data)) result = undefined;
    // A "keyframe" without the codec's keyframe header is a fragment or garbage, not a place to start decoding.
    if (result?.isKeyframe && this.video && !isValidKeyframe(this.codec, result.data)) result = undefined;
    if (!result || result.data.length === 0) {
      this.out.dropped();
      if (this.video) {
        this.waitingForKeyframe = true;
        this.out.needKeyframe();
      }
      return;
    }
    if (this.video) {
      if (this.waitingForKeyframe && !result.isKeyframe) {
        this.out.dropped();
        this.out.needKeyframe();
        return;
      }
      if (result.isKeyframe) this.waitingForKeyframe = false;
    }
    this.out.frame({ keyframe: this.video ? result.isKeyframe : true, data: result.data, rtpTimestamp });
  }
}

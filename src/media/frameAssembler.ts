import type { RtpPacket } from "werift";
import { isValidAudioFrame, isValidKeyframe, isValidVideoFrame } from "./bitstream.ts";
import { depacketize } from "./depacketize.ts";
import type { CodecName, MediaKind } from "./types.ts";

export interface AssembledFrame {
  keyframe: boolean;
  data: Buffer;
  rtpTimestamp: number;
}

/** Why a frame was given up: lost packets or before a keyframe, garbage, or grown past the size bound. */
export type DropReason = "incomplete" | "invalid" | "too_large";

export interface AssemblerOutput {
  frame(frame: AssembledFrame): void;
  /** Decoding cannot go on without a keyframe (start of stream, or a frame was lost). */
  needKeyframe(): void;
  /** A frame was given up. */
  dropped(reason: DropReason): void;
}

/** How much one frame in progress may hold: a sender that never ends a frame must not grow memory. */
export interface FrameBounds {
  maxFrameBytes: number;
  maxFramePackets: number;
}

/** A 4K keyframe is 1–2 MB; 8 MB is far beyond any real frame and bounds what a frame in progress holds. */
export const DEFAULT_FRAME_BOUNDS: FrameBounds = { maxFrameBytes: 8 * 1024 * 1024, maxFramePackets: 8192 };

/**
 * Groups in-order RTP packets of one track into frames (same RTP timestamp; the marker bit or a new
 * timestamp ends a frame) and depacketizes them. Video is only passed on from a keyframe on, and
 * again from the next keyframe after any loss, so no frame is written as if it were complete.
 */
export class FrameAssembler {
  private readonly packets: RtpPacket[] = [];
  private heldBytes = 0;
  /** Timestamp of a frame given up for its size: its remaining packets are discarded as they come. */
  private discarding = -1;
  private broken = false;
  private waitingForKeyframe: boolean;
  private readonly video: boolean;
  private readonly codec: CodecName;
  private readonly out: AssemblerOutput;

  private readonly bounds: FrameBounds;

  constructor(codec: CodecName, kind: MediaKind, out: AssemblerOutput, bounds: FrameBounds = DEFAULT_FRAME_BOUNDS) {
    this.bounds = bounds;
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
    if (this.discarding >= 0) {
      if (packet.header.timestamp === this.discarding) {
        if (packet.header.marker) this.discarding = -1;
        return;
      }
      this.discarding = -1;
    }
    const current = this.packets.length ? this.packets[0].header.timestamp : undefined;
    if (current !== undefined && packet.header.timestamp !== current) this.finishUnmarked();
    if (lost) {
      this.broken = true;
      this.waitingForKeyframe = true;
    }
    this.packets.push(packet);
    this.heldBytes += packet.payload.length;
    if (this.heldBytes > this.bounds.maxFrameBytes || this.packets.length > this.bounds.maxFramePackets) this.tooLarge();
    else if (packet.header.marker || !this.video) this.finish();
  }

  /** The frame in progress grew past its bound: give it up, discard the rest of it, start again at a keyframe. */
  private tooLarge(): void {
    this.discarding = this.packets[0].header.timestamp;
    this.packets.length = 0;
    this.heldBytes = 0;
    this.broken = false;
    this.out.dropped("too_large");
    if (this.video) {
      this.waitingForKeyframe = true;
      this.out.needKeyframe();
    }
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
      if (!this.broken) result = depacketize(this.codec, packets);
    } catch {
      result = undefined; // garbage payload: treat like a lost frame
    }
    const rtpTimestamp = packets[0].header.timestamp;
    packets.length = 0;
    this.heldBytes = 0;
    this.broken = false;

    if (result && result.data.length > 0 && !(this.video ? isValidVideoFrame(this.codec, result.data) : isValidAudioFrame(this.codec, result.data))) {
      // Garbage a decoder would reject without touching its state: drop it, keep the chain around it.
      this.out.dropped("invalid");
      if (this.video && this.waitingForKeyframe) this.out.needKeyframe();
      return;
    }
    // A "keyframe" without the codec's keyframe header is a fragment or garbage, not a place to start decoding.
    if (result?.isKeyframe && this.video && !isValidKeyframe(this.codec, result.data)) result = undefined;
    if (!result || result.data.length === 0) {
      this.out.dropped("incomplete");
      if (this.video) {
        this.waitingForKeyframe = true;
        this.out.needKeyframe();
      }
      return;
    }
    if (this.video) {
      if (this.waitingForKeyframe && !result.isKeyframe) {
        this.out.dropped("incomplete");
        this.out.needKeyframe();
        return;
      }
      if (result.isKeyframe) this.waitingForKeyframe = false;
    }
    this.out.frame({ keyframe: this.video ? result.isKeyframe : true, data: result.data, rtpTimestamp });
  }
}

import type { RtpPacket } from "werift";
import { opusSamples, opusSilenceLike } from "./bitstream.ts";
import type { TrackClock } from "./clock.ts";
import { FrameAssembler, type AssembledFrame } from "./frameAssembler.ts";
import { JitterBuffer } from "./jitterBuffer.ts";
import type { CodecName, Frame, MediaKind, TrackStats } from "./types.ts";

/** 20 ms at Opus's 48 kHz RTP clock. */
const SILENCE_FRAME_SAMPLES = 960;
/** Longer gaps (10 min) are not a pause but a new RTP timeline, which the clock re-anchors (MAX_RTP_JUMP_S). */
const MAX_SILENCE_FILL_SAMPLES = 48000 * 600;

export interface TrackPipelineOptions {
  kind: MediaKind;
  codec: CodecName;
  /** This track's clock, from the StreamClock shared by its MediaStream's tracks. */
  clock: TrackClock;
  jitterDelayMs: number;
  /** Shortest time between two keyframe requests. */
  keyframeIntervalMs: number;
}

export interface PipelineOutput {
  /** Where frames go; a pipeline made before its sink starts with a no-op (see setOutput). */
  frame(frame: Frame): void;
  requestKeyframe(): void;
}

/**
 * One track's media path, top to bottom: RTP → jitter buffer → frame assembly/depacketizing →
 * timestamps on the common clock → output. Synchronous and free of I/O; the owner feeds it
 * packets, calls `poll` on a timer (so held packets are released when input stops) and `flush` at the end.
 */
export class TrackPipeline {
  readonly stats: TrackStats = {
    packets: 0, bytes: 0, lost: 0, late: 0, duplicates: 0, frames: 0, framesDropped: 0, keyframeRequests: 0, nacks: 0, silenceFilled: 0,
  };
  private readonly jitter: JitterBuffer;
  private readonly assembler: FrameAssembler;
  private keyframeWanted: boolean;
  private lastKeyframeRequestMs = -Infinity;
  /** Arrival of the packet that completed the frame being emitted (time spent in the jitter buffer excluded). */
  private arrivalMs = 0;
  /** Opus: RTP time where the last frame ended, to find gaps (DTX, loss) on the timeline. */
  private audioEnd = -1;

  private readonly options: TrackPipelineOptions;
  private readonly out: PipelineOutput;

  constructor(options: TrackPipelineOptions, out: PipelineOutput) {
    this.options = options;
    this.out = out;
    this.jitter = new JitterBuffer({ maxDelayMs: options.jitterDelayMs, capacity: options.kind === "video" ? 2048 : 256 });
    this.keyframeWanted = options.kind === "video";
    this.assembler = new FrameAssembler(options.codec, options.kind, {
      frame: (f) => this.emit(f),
      needKeyframe: () => {
        this.keyframeWanted = true;
      },
      dropped: () => {
        this.stats.framesDropped++;
      },
    });
  }

  get kind(): MediaKind {
    return this.options.kind;
  }

  get codec(): CodecName {
    return this.options.codec;
  }

  /** Asks for a keyframe at the next poll (throttled), e.g. when a recorder starts a new segment. */
  wantKeyframe(): void {
    if (this.options.kind === "video") this.keyframeWanted = true;
  }

  setOutput(frame: (frame: Frame) => void): void {
    this.out.frame = frame;
  }

  push(packet: RtpPacket, nowMs: number): void {
    this.stats.packets++;
    this.stats.bytes += packet.payload.length;
    this.jitter.push(packet, nowMs);
    this.poll(nowMs);
  }

  /** An RTCP sender report for this track (raw 64-bit NTP field and RTP timestamp). */
  senderReport(ntp: bigint, rtpTimestamp: number, nowMs: number): void {
    this.options.clock.senderReport(ntp, rtpTimestamp, nowMs * 1000);
  }

  get clock(): TrackClock {
    return this.options.clock;
  }

  /** Releases what the jitter buffer may give up by now, and re-asks for a keyframe when due. */
  poll(nowMs: number): void {
    for (let p = this.jitter.pop(nowMs); p; p = this.jitter.pop(nowMs)) {
      this.arrivalMs = this.jitter.arrivalMs;
      this.assembler.push(p, this.jitter.gapBefore);
    }
    this.syncStats();
    if (this.keyframeWanted && nowMs - this.lastKeyframeRequestMs >= this.options.keyframeIntervalMs) {
      this.lastKeyframeRequestMs = nowMs;
      this.stats.keyframeRequests++;
      this.out.requestKeyframe();
    }
  }

  /** End of stream: everything held goes out, incomplete frames are dropped. */
  flush(): void {
    for (let p = this.jitter.drain(); p; p = this.jitter.drain()) {
      this.arrivalMs = this.jitter.arrivalMs;
      this.assembler.push(p, this.jitter.gapBefore);
    }
    this.assembler.flush();
    this.syncStats();
  }

  private syncStats(): void {
    this.stats.lost = this.jitter.stats.lost;
    this.stats.late = this.jitter.stats.late;
    this.stats.duplicates = this.jitter.stats.duplicates;
  }

  private emit(f: AssembledFrame): void {
    if (this.options.codec === "opus") this.fillSilence(f);
    this.emitFrame(f);
  }

  /**
   * DTX senders stop sending in silence (one packet per 400 ms), and lost packets leave holes: fill them with
   * silent 20 ms frames, so the audio track covers its wall time even for players that ignore timestamps.
   */
  private fillSilence(f: AssembledFrame): void {
    const gap = this.audioEnd < 0 ? 0 : (f.rtpTimestamp - this.audioEnd) | 0;
    if (gap >= SILENCE_FRAME_SAMPLES && gap <= MAX_SILENCE_FILL_SAMPLES) {
      const silence = opusSilenceLike(f.data);
      for (let t = 0; t + SILENCE_FRAME_SAMPLES <= gap; t += SILENCE_FRAME_SAMPLES) {
        this.stats.silenceFilled++;
        this.emitFrame({ keyframe: true, data: silence, rtpTimestamp: (this.audioEnd + t) >>> 0 });
      }
    }
    this.audioEnd = (f.rtpTimestamp + (opusSamples(f.data) || SILENCE_FRAME_SAMPLES)) >>> 0;
  }

  private emitFrame(f: AssembledFrame): void {
    if (f.keyframe && this.options.kind === "video") this.keyframeWanted = false;
    this.stats.frames++;
    const ptsMicros = this.options.clock.toMicros(f.rtpTimestamp, this.arrivalMs * 1000);
    this.out.frame({ kind: this.options.kind, codec: this.options.codec, keyframe: f.keyframe, data: f.data, ptsMicros });
  }
}

import type { RtpPacket } from "werift";
import { FrameAssembler, type AssembledFrame } from "./frameAssembler.ts";
import { opusSamples } from "./bitstream.ts";
import { JitterBuffer } from "./jitterBuffer.ts";
import { OpusPadding } from "./opusPadding.ts";
import { TimelineGuard } from "./timelineGuard.ts";
import type { CodecName, MediaKind, RtpFrame, TrackStats } from "./types.ts";

/** Longer gaps (10 min) are not a pause but a new RTP timeline, which the clock re-anchors (MAX_RTP_JUMP_S). */
const MAX_SILENCE_FILL_SAMPLES = 48000 * 600;

export interface TrackPipelineOptions {
  kind: MediaKind;
  codec: CodecName;
  /** RTP clock rate (Hz) of the codec. */
  clockRate: number;
  jitterDelayMs: number;
  /** Shortest time between two keyframe requests. */
  keyframeIntervalMs: number;
}

export interface PipelineOutput {
  /** Where frames go (their stream's SyncHold, which times them). */
  frame(frame: RtpFrame): void;
  requestKeyframe(): void;
}

/**
 * One track's media path, top to bottom: RTP → jitter buffer → frame assembly/depacketizing →
 * Opus gap fill → output (frames with their RTP timestamp and arrival time; the stream's SyncHold times them). Synchronous and free of I/O; the owner feeds it
 * packets, calls `poll` on a timer (so held packets are released when input stops) and `flush` at the end.
 */
export class TrackPipeline {
  readonly stats: TrackStats = {
    packets: 0, bytes: 0, lost: 0, late: 0, duplicates: 0, frames: 0, framesDropped: 0, keyframeRequests: 0, nacks: 0, silenceFilled: 0,
    framesTooLarge: 0, framesInvalid: 0, framesBackwards: 0, timelineJumps: 0,
  };
  /** Keeps RTP timestamps physically plausible: no jumps ahead of real time, nothing backwards. */
  private readonly timeline: TimelineGuard;
  /** Video: a keyframe was dropped for its timestamp, so deltas wait for the next one. */
  private videoNeedsKeyframe = false;
  /** The last audio frame emitted (its duration is the least the next one must advance). */
  private lastAudio: Buffer | undefined;
  private readonly jitter: JitterBuffer;
  private readonly assembler: FrameAssembler;
  private keyframeWanted: boolean;
  private lastKeyframeRequestMs = -Infinity;
  /** Arrival of the packet that completed the frame being emitted (time spent in the jitter buffer excluded). */
  private arrivalMs = 0;
  /** Opus: fills gaps on the RTP timeline (DTX, loss) with silence. */
  private readonly padding: OpusPadding | undefined;

  private readonly options: TrackPipelineOptions;
  private readonly out: PipelineOutput;

  constructor(options: TrackPipelineOptions, out: PipelineOutput) {
    this.options = options;
    this.out = out;
    const video = options.kind === "video";
    this.jitter = new JitterBuffer({ maxDelayMs: options.jitterDelayMs, capacity: video ? 2048 : 256, maxBytes: (video ? 8 : 1) * 1024 * 1024 });
    this.timeline = new TimelineGuard({ clockRate: options.clockRate });
    this.keyframeWanted = options.kind === "video";
    if (options.codec === "opus") this.padding = new OpusPadding({ unitsPerSample: 1, wrap32: true, maxGap: MAX_SILENCE_FILL_SAMPLES });
    this.assembler = new FrameAssembler(options.codec, options.kind, {
      frame: (f) => this.emit(f),
      needKeyframe: () => {
        this.keyframeWanted = true;
      },
      dropped: (reason) => {
        this.stats.framesDropped++;
        if (reason === "too_large") this.stats.framesTooLarge++;
        else if (reason === "invalid") this.stats.framesInvalid++;
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

  push(packet: RtpPacket, nowMs: number): void {
    this.stats.packets++;
    this.stats.bytes += packet.payload.length;
    this.jitter.push(packet, nowMs);
    this.poll(nowMs);
  }

  /** A sender report's RTP timestamp on the timeline this pipeline's frames are on (see TimelineGuard). */
  mapRtpTimestamp(rtpTimestamp: number): number {
    return this.timeline.map(rtpTimestamp);
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
    const video = this.options.kind === "video";
    const ts = this.timeline.place(f.rtpTimestamp, this.arrivalMs, video ? this.options.clockRate / 1000 : this.audioSamples(this.lastAudio));
    this.stats.timelineJumps = this.timeline.jumps;
    if (ts < 0 || (video && this.videoNeedsKeyframe && !f.keyframe)) {
      // Never write a frame whose time goes backwards; after a dropped keyframe its deltas cannot decode.
      if (ts < 0) this.stats.framesBackwards++;
      this.stats.framesDropped++;
      if (video && f.keyframe) this.videoNeedsKeyframe = true;
      if (video && this.videoNeedsKeyframe) this.keyframeWanted = true;
      return;
    }
    if (video && f.keyframe) this.videoNeedsKeyframe = false;
    f.rtpTimestamp = ts;
    if (!video) this.lastAudio = f.data;
    if (this.padding) {
      // DTX senders stop sending in silence (one packet per 400 ms), and lost packets leave holes.
      this.stats.silenceFilled += this.padding.fill(f.rtpTimestamp, this.emitSilence, f.data);
      this.padding.played(f.rtpTimestamp, f.data);
    }
    this.emitFrame(f);
  }

  /** An audio frame's duration in RTP samples (the least the next frame's timestamp must advance). */
  private audioSamples(data: Buffer | undefined): number {
    if (!data) return 1;
    if (this.options.codec === "opus") return opusSamples(data) || 960;
    return Math.max(1, data.length); // G.711: one byte per sample
  }

  private readonly emitSilence = (rtpTimestamp: number, data: Buffer): void => {
    this.emitFrame({ keyframe: true, data, rtpTimestamp });
  };

  private emitFrame(f: AssembledFrame): void {
    if (f.keyframe && this.options.kind === "video") this.keyframeWanted = false;
    this.stats.frames++;
    this.out.frame({
      kind: this.options.kind, codec: this.options.codec, keyframe: f.keyframe, data: f.data, rtpTimestamp: f.rtpTimestamp, arrivalMicros: this.arrivalMs * 1000,
    });
  }
}

import { opusSamples, opusSilenceLike } from "./bitstream.ts";

export interface OpusPaddingOptions {
  /** Length of one Opus sample (1/48000 s) in the owner's time unit: 1 for RTP time, 1/48 for ms. */
  unitsPerSample: number;
  /** Where padding starts before the first frame; undefined: nothing is padded before it. */
  start?: number;
  /** Times are 32-bit RTP timestamps that wrap around. */
  wrap32?: boolean;
  /** Longer gaps are not filled (a new RTP timeline, not a pause). */
  maxGap?: number;
}

/** 20 ms: the silent frame's length, in 48 kHz samples. */
const SILENT_FRAME_SAMPLES = 960;

/**
 * Silence padding for one Opus track, the one place recbot makes it. Audio must cover its time without
 * holes, for players that ignore timestamps: the pipeline fills gaps inside the stream (DTX, lost packets)
 * in RTP time, and a recording segment pads audio that starts after its file does, or stops before its last
 * video frame, in file milliseconds. Padding is whole silent 20 ms frames coded like the track's packets
 * (mono or stereo), from where the track's audio ended.
 */
export class OpusPadding {
  private end: number | undefined;
  private last: Buffer | undefined;
  private readonly frame: number;
  private readonly options: OpusPaddingOptions;

  constructor(options: OpusPaddingOptions) {
    this.options = options;
    this.frame = SILENT_FRAME_SAMPLES * options.unitsPerSample;
    this.end = options.start;
  }

  /**
   * Calls `emit(at, silence)` for each silent frame that fits between where the audio ended and `to`;
   * `like` (default: the last frame played) is the packet the silence is coded like. Returns how many.
   */
  fill(to: number, emit: (at: number, silence: Buffer) => void, like: Buffer | undefined = this.last): number {
    if (this.end === undefined) return 0;
    const gap = this.options.wrap32 ? (to - this.end) | 0 : to - this.end;
    if (gap < this.frame || gap > (this.options.maxGap ?? Infinity)) return 0;
    const silence = opusSilenceLike(like);
    let count = 0;
    let t = 0;
    for (; t + this.frame <= gap; t += this.frame, count++) emit(this.at(t), silence);
    this.end = this.at(t);
    return count;
  }

  /** A real frame was placed at `at`: the audio now ends where it does. */
  played(at: number, data: Buffer): void {
    this.end = this.at(0, at + (opusSamples(data) || SILENT_FRAME_SAMPLES) * this.options.unitsPerSample);
    this.last = data;
  }

  private at(offset: number, from = this.end!): number {
    return this.options.wrap32 ? (from + offset) >>> 0 : from + offset;
  }
}

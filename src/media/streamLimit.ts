import type { Frame } from "./types.ts";

/**
 * The recording limits (maxRecordingSeconds, maxRecordingBytes) of one MediaStream, checked on every frame
 * on its way to the recorder: the first frame past a limit is not written, and the owner is told once. A
 * timer that looks once a second would let a burst of media run far past the limit first.
 */
export class StreamLimit {
  /** Which limit stopped the stream, once one has. */
  exceeded: "max_duration" | "max_size" | undefined;
  private originMicros = NaN;
  private bytes = 0;
  private readonly maxMicros: number;
  private readonly maxBytes: number;
  private readonly onExceeded: (reason: "max_duration" | "max_size") => void;

  constructor(maxSeconds: number, maxBytes: number, onExceeded: (reason: "max_duration" | "max_size") => void) {
    this.maxMicros = maxSeconds * 1e6;
    this.maxBytes = maxBytes;
    this.onExceeded = onExceeded;
  }

  /** True if the frame may be written. */
  pass(frame: Frame): boolean {
    if (this.exceeded) return false;
    if (Number.isNaN(this.originMicros)) this.originMicros = frame.ptsMicros;
    if (frame.ptsMicros - this.originMicros >= this.maxMicros) return this.stop("max_duration");
    if (this.bytes + frame.data.length > this.maxBytes) return this.stop("max_size");
    this.bytes += frame.data.length;
    return true;
  }

  private stop(reason: "max_duration" | "max_size"): false {
    this.exceeded = reason;
    this.onExceeded(reason);
    return false;
  }
}

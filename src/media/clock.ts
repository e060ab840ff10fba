/**
 * Maps one track's 32-bit RTP timestamps to microseconds on the local wall clock.
 * The track is anchored once, at its first packet (arrival time ↔ RTP timestamp); after that every
 * time comes from RTP timestamp differences, so jitter in arrival never reaches the file.
 */
export class RtpClock {
  private anchorRtp = -1;
  private anchorMicros = 0;
  private lastExtended = -1;

  readonly clockRate: number;

  constructor(clockRate: number) {
    this.clockRate = clockRate;
  }

  /** Unwraps a 32-bit RTP timestamp against the last one seen. */
  extend(timestamp: number): number {
    if (this.lastExtended < 0) {
      this.lastExtended = timestamp;
      return timestamp;
    }
    const delta = (timestamp - this.lastExtended) | 0; // signed 32-bit distance
    this.lastExtended += delta;
    return this.lastExtended;
  }

  toMicros(timestamp: number, arrivalMicros: number): number {
    const ext = this.extend(timestamp);
    if (this.anchorRtp < 0 && ext >= 0) {
      this.anchorRtp = ext;
      this.anchorMicros = arrivalMicros;
    }
    return this.anchorMicros + ((ext - this.anchorRtp) * 1e6) / this.clockRate;
  }
}

/** Local wall clock in milliseconds: monotonic (performance.now) but on the Unix epoch. */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

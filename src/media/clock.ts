/**
 * Timing of one track: its RTP timestamps unwrapped and placed on its stream's clock by one fixed linear
 * mapping, so every interval in the file is exactly the sender's RTP delta. Where the mapping comes from
 * (sender reports, or the least-delayed arrival) is decided once, before the first frame is placed, by the
 * stream's SyncHold (syncHold.ts); nothing here slews or moves a placed track, except to start a new
 * timeline after a discontinuity (see docs/media.md, "Timing").
 */

/** Seconds between the NTP epoch (1900) and the Unix epoch (1970). */
const NTP_UNIX_OFFSET_S = 2_208_988_800;
/** Sender reports over which the mapping takes its minimum (about 5–10 s at browsers' 1 SR/s). */
const SR_WINDOW = 8;
/** How far SRs may disagree (send-time jitter of software senders) and still count as one mapping. */
export const SR_TOLERANCE_MICROS = 50_000;
/** An RTP jump larger than this (10 min) is a new timeline, not a pause. */
export const MAX_RTP_JUMP_S = 600;

/** 64-bit NTP timestamp (RFC 3550 §4: seconds since 1900 in the high word, binary fraction in the low) → Unix µs. */
export function ntpToUnixMicros(ntp: bigint): number {
  const seconds = Number(ntp >> 32n);
  const fraction = Number(ntp & 0xffffffffn);
  return (seconds - NTP_UNIX_OFFSET_S) * 1e6 + (fraction * 1e6) / 2 ** 32;
}

/** Unix µs → 64-bit NTP timestamp (for test senders that must send correct SRs). */
export function unixMicrosToNtp(micros: number): bigint {
  const total = micros / 1e6 + NTP_UNIX_OFFSET_S;
  const seconds = Math.floor(total);
  let fraction = Math.round((total - seconds) * 2 ** 32);
  if (fraction >= 2 ** 32) fraction = 2 ** 32 - 1;
  return (BigInt(seconds) << 32n) | BigInt(fraction);
}

/** Local wall clock in milliseconds: monotonic (performance.now) but on the Unix epoch. */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * The mapping SRs agree on, or undefined: the values within SR_TOLERANCE of their median must be at least two and
 * two thirds of the window. Correct senders agree to a millisecond; a sender with a broken NTP fraction (werift
 * 0.25.2, up to 1 s off at random) almost never does. Of the agreeing values the smallest is taken: a sender that
 * stamps an SR when it sends a packet (not when it captured it) can only be late.
 */
function trustedBase(bases: readonly number[]): number | undefined {
  const sorted = [...bases].sort((a, b) => a - b);
  const median = sorted[sorted.length >> 1];
  let count = 0;
  let min = Infinity;
  for (const b of bases) {
    if (Math.abs(b - median) <= SR_TOLERANCE_MICROS) {
      count++;
      if (b < min) min = b;
    }
  }
  return count >= 2 && count * 3 >= bases.length * 2 ? min : undefined;
}

/** A linear mapping: the local µs of one extended RTP timestamp. */
interface Anchor {
  ext: number;
  micros: number;
}

/** One track's RTP timestamps on its stream's clock. */
export class TrackClock {
  readonly clockRate: number;
  /** Times the RTP timestamps jumped so far that the track started a new timeline. */
  discontinuities = 0;
  /** Sender reports received, and those not trusted (yet) because they disagree with the others. */
  senderReports = 0;
  untrustedReports = 0;
  /** The last extended RTP timestamp seen (frames or SRs unwrap against it); undefined before the first. */
  private lastExtended: number | undefined;
  /** Where the track is placed; undefined until the stream's SyncHold decides. */
  private anchor: Anchor | undefined;
  /** The last frame placed: its extended RTP timestamp and time. */
  private last: Anchor | undefined;
  /** Per SR: the sender's NTP µs at extended RTP time 0. */
  private readonly srBases: number[] = [];

  constructor(clockRate: number) {
    this.clockRate = clockRate;
  }

  /** Unwraps a 32-bit RTP timestamp against the last one seen (the first starts one cycle up, so earlier ones stay positive). */
  extend(timestamp: number): number {
    this.lastExtended = this.lastExtended === undefined ? timestamp + 2 ** 32 : this.lastExtended + ((timestamp - this.lastExtended) | 0);
    return this.lastExtended;
  }

  /** An RTCP sender report: `ntp` as the raw 64-bit field, `rtpTimestamp` its 32-bit RTP time. */
  senderReport(ntp: bigint, rtpTimestamp: number): void {
    const srMicros = ntpToUnixMicros(ntp);
    if (!Number.isFinite(srMicros)) return;
    this.senderReports++;
    // Unwrap against what we have seen, without moving the unwrap state (an SR may be slightly behind).
    const ext = this.lastExtended === undefined ? rtpTimestamp + 2 ** 32 : this.lastExtended + ((rtpTimestamp - this.lastExtended) | 0);
    this.srBases.push(srMicros - (ext * 1e6) / this.clockRate);
    if (this.srBases.length > SR_WINDOW) this.srBases.shift();
    if (this.trustedBase === undefined) this.untrustedReports++;
  }

  /** The sender's NTP µs at extended RTP time 0 that its SRs agree on; undefined if they do not (yet). */
  get trustedBase(): number | undefined {
    return trustedBase(this.srBases);
  }

  /** The latest SR's mapping, trusted or not; undefined before the first SR. */
  get latestBase(): number | undefined {
    return this.srBases.at(-1);
  }

  get anchored(): boolean {
    return this.anchor !== undefined;
  }

  /** Places the track by its sender's clock: frame time = sender NTP time (from `base`) + `offsetMicros`. */
  anchorBySender(base: number, offsetMicros: number): void {
    this.anchor = { ext: 0, micros: base + offsetMicros };
  }

  /** Places the track so that the frame with extended timestamp `ext` is at `micros`. */
  anchorAt(ext: number, micros: number): void {
    this.anchor = { ext, micros };
  }

  /** Local µs of an extended timestamp by the anchor (which must be set). */
  mapped(ext: number): number {
    return this.anchor!.micros + ((ext - this.anchor!.ext) * 1e6) / this.clockRate;
  }

  /**
   * Presentation time (µs) of a frame of an anchored track. An RTP jump beyond MAX_RTP_JUMP_S (SSRC change, sender
   * restart) starts a new timeline at the frame's arrival, never before the last frame: a gap, never a squeeze.
   */
  place(ext: number, arrivalMicros: number): number {
    if (this.last !== undefined && Math.abs(ext - this.last.ext) > this.clockRate * MAX_RTP_JUMP_S) {
      this.discontinuities++;
      this.srBases.length = 0; // the old reports describe the old timeline
      this.anchorAt(ext, Math.max(arrivalMicros, this.last.micros + 1000));
      this.last = undefined;
    }
    let out = this.mapped(ext);
    // Frames of one track never go back in time (a later frame with an older RTP time is a sender bug).
    if (this.last !== undefined && out <= this.last.micros) out = this.last.micros + 1;
    this.last = { ext: this.last === undefined ? ext : Math.max(ext, this.last.ext), micros: out };
    return out;
  }
}

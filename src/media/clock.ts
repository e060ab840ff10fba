/**
 * Timing: every frame's presentation time comes from its RTP timestamp, placed on one clock shared by
 * the tracks of a remote MediaStream.
 *
 * - Before a track's first RTCP sender report, its RTP timestamps are anchored at the local time its
 *   first frame came out of the pipeline (arrival anchoring): nothing waits for an SR.
 * - An SR maps the sender's RTP clock to its NTP wall clock; SRs are used once two agree. The stream's first one fixes one offset
 *   between sender and local wall clock (chosen so that the reporting track does not move); from then on
 *   each track with an SR is placed at `senderTime(rtp) + offset`, which lines audio and video up the
 *   way the sender captured them.
 * - A mapping change (a track's first SR, or a later SR that disagrees by drift or jitter) never jumps:
 *   the difference is kept as a correction that is slewed away at most SLEW_RATE of media time, so
 *   timestamps stay strictly increasing.
 */

/** Seconds between the NTP epoch (1900) and the Unix epoch (1970). */
const NTP_UNIX_OFFSET_S = 2_208_988_800;
/** Share of elapsed media time by which a correction may shrink: 10 % = 100 ms per second. */
const SLEW_RATE = 0.1;
/** Sender reports over which the mapping takes its minimum (about 5–10 s at browsers' 1 SR/s). */
const SR_WINDOW = 8;
/** How far SRs may disagree (send-time jitter of software senders) and still count as one mapping. */
const SR_TOLERANCE_MICROS = 50_000;
/** An RTP jump larger than this (10 min) is a new timeline, not a pause. */
const MAX_RTP_JUMP_S = 600;
/** Corrections below this are applied at once (well under one audio frame). */
const SNAP_MICROS = 1000;

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

/**
 * The mapping SRs agree on, or undefined: the values within SR_TOLERANCE of their median must be at least two and
 * two thirds of the window. Correct senders agree to a millisecond; a sender with a broken NTP fraction (werift
 * 0.25.2, up to 1 s off at random) almost never does, and its tracks stay on arrival timing instead.
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

/** Local wall clock in milliseconds: monotonic (performance.now) but on the Unix epoch. */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

/** The sender↔local offset shared by the tracks of one remote MediaStream. */
export class StreamClock {
  /** local µs = sender NTP µs + offset; undefined until the stream's first SR. */
  offsetMicros: number | undefined;
  /** SRs received, over all tracks (trusted or not). */
  senderReports = 0;

  private readonly tracks: TrackClock[] = [];

  track(clockRate: number, kind: "audio" | "video" = "video"): TrackClock {
    const track = new TrackClock(this, clockRate, kind);
    this.tracks.push(track);
    return track;
  }

  /**
   * The track whose first trusted SR fixes the offset, so that it never moves: audio if the stream has it (a jump
   * or slew in audio timing is heard, video frames take variable timing without harm), else the first track.
   */
  get leader(): TrackClock | undefined {
    return this.tracks.find((t) => t.kind === "audio") ?? this.tracks[0];
  }
}

/** One track's RTP timestamps on its stream's clock. */
export class TrackClock {
  readonly clockRate: number;
  private readonly stream: StreamClock;
  private lastExtended = -1;
  /** Arrival anchoring (before an SR). */
  private anchorRtp = -1;
  private anchorMicros = 0;
  /**
   * Sender report mapping, as the sender's NTP µs at extended RTP time 0: the smallest over the last few
   * SRs that agree (see trustedBase). A sender that takes the SR's NTP time when it sends a packet (not when it
   * captured it) can only be late, so the minimum is the closest to its capture clock; a window follows drift.
   */
  private srBase = NaN;
  private readonly srBases: number[] = [];
  /** What is added to the mapping so the output does not jump when the mapping changes. */
  private correction = 0;
  private lastRtp = -1;
  private lastOut = -Infinity;

  readonly kind: "audio" | "video";
  /** Whether the last output was placed by SR (a change, e.g. when another track sets the offset, is rebased). */
  private lastSynced = false;

  constructor(stream: StreamClock, clockRate: number, kind: "audio" | "video") {
    this.stream = stream;
    this.clockRate = clockRate;
    this.kind = kind;
  }

  /** True once a frame of this track was placed. */
  get started(): boolean {
    return this.anchorRtp >= 0;
  }

  /** True once this track is placed by a sender report. */
  get synced(): boolean {
    return !Number.isNaN(this.srBase) && this.stream.offsetMicros !== undefined;
  }

  /** Unwraps a 32-bit RTP timestamp against the last one seen. */
  private extend(timestamp: number): number {
    if (this.lastExtended < 0) {
      this.lastExtended = timestamp + 2 ** 32; // one cycle up, so timestamps just before the first stay positive
      return this.lastExtended;
    }
    this.lastExtended += (timestamp - this.lastExtended) | 0; // signed 32-bit distance
    return this.lastExtended;
  }

  /** The mapping without correction, for an extended timestamp. */
  private mapped(ext: number): number {
    if (this.synced) return this.srBase + (ext * 1e6) / this.clockRate + this.stream.offsetMicros!;
    return this.anchorMicros + ((ext - this.anchorRtp) * 1e6) / this.clockRate;
  }

  /** An RTCP sender report for this track: `ntp` as the raw 64-bit field, `rtpTimestamp` its 32-bit RTP time. */
  senderReport(ntp: bigint, rtpTimestamp: number, nowMicros: number): void {
    const srMicros = ntpToUnixMicros(ntp);
    if (!Number.isFinite(srMicros)) return;
    this.stream.senderReports++;
    // Unwrap against what we have seen, without moving the unwrap state (an SR may be slightly behind).
    const ext = this.lastExtended < 0 ? rtpTimestamp + 2 ** 32 : this.lastExtended + ((rtpTimestamp - this.lastExtended) | 0);
    this.srBases.push(srMicros - (ext * 1e6) / this.clockRate);
    if (this.srBases.length > SR_WINDOW) this.srBases.shift();
    const base = trustedBase(this.srBases);
    if (base === undefined) {
      this.untrustedReports++;
      return;
    }
    const before = this.lastRtp >= 0 ? this.mapped(this.lastRtp) : undefined;
    const leader = this.stream.leader;
    if (this.stream.offsetMicros === undefined && (leader === this || !leader?.started)) {
      // The stream's first trusted SR from its leader (or from any track while the leader sends nothing):
      // keep this track where it is (or at arrival, if it has no frames yet).
      const local = this.anchorRtp >= 0 ? this.anchorMicros + ((ext - this.anchorRtp) * 1e6) / this.clockRate : nowMicros;
      this.stream.offsetMicros = local - (base + (ext * 1e6) / this.clockRate);
    }
    this.srBase = base;
    this.rebase(before);
  }

  /** Keeps the output continuous across a mapping change: the difference is slewed away (see toMicros). */
  private rebase(before: number | undefined): void {
    this.lastJumpMicros = before !== undefined ? before - this.mapped(this.lastRtp) : 0;
    this.correction += this.lastJumpMicros;
    this.lastSynced = this.synced;
  }

  /** Times the RTP timestamps jumped so far that the track was re-anchored. */
  discontinuities = 0;

  /** Sender reports not used because they disagree with the others (a broken or jumping sender clock). */
  untrustedReports = 0;

  /** How far the last sender report moved this track (µs, before slewing): for logs. */
  lastJumpMicros = 0;

  /** The correction still being slewed away (µs): for logs. */
  get pendingCorrectionMicros(): number {
    return this.correction;
  }

  /** Presentation time in µs of a frame's RTP timestamp; `nowMicros` anchors the first frame before any SR. */
  toMicros(timestamp: number, nowMicros: number): number {
    let ext = this.extend(timestamp);
    if (this.lastRtp >= 0 && Math.abs(ext - this.lastRtp) > this.clockRate * MAX_RTP_JUMP_S) {
      // A new RTP timeline (SSRC change, sender restart): start over from arrival, forget the old SRs.
      this.discontinuities++;
      this.lastExtended = -1;
      ext = this.extend(timestamp);
      this.anchorRtp = ext;
      this.anchorMicros = Math.max(nowMicros, this.lastOut + 1);
      this.srBases.length = 0;
      this.srBase = NaN;
      this.correction = 0;
      this.lastRtp = -1;
    }
    if (this.anchorRtp < 0) {
      this.anchorRtp = ext;
      this.anchorMicros = this.synced ? this.mapped(ext) : nowMicros;
      this.lastSynced = this.synced;
    }
    if (this.synced !== this.lastSynced && this.lastRtp >= 0) {
      // Another track has just fixed the stream's offset: this track switches from arrival to SR timing.
      this.rebase(this.anchorMicros + ((this.lastRtp - this.anchorRtp) * 1e6) / this.clockRate);
    }
    if (this.correction !== 0 && this.lastRtp >= 0) {
      const elapsed = Math.max(0, ((ext - this.lastRtp) * 1e6) / this.clockRate);
      const step = Math.max(SNAP_MICROS, elapsed * SLEW_RATE);
      this.correction = Math.abs(this.correction) <= step ? 0 : this.correction - Math.sign(this.correction) * step;
    }
    let out = this.mapped(ext) + this.correction;
    if (ext > this.lastRtp) this.lastRtp = ext;
    // Frames of one track never go back in time (a later frame with an older RTP time is a sender bug).
    if (out <= this.lastOut) out = this.lastOut + 1;
    this.lastOut = out;
    return out;
  }
}

/**
 * Keeps one track's RTP timestamps physically plausible before they are placed on the clock and gaps are
 * filled: media time may not run ahead of the time the packets took to arrive (plus some slack), and it may
 * not go backwards. A sender cannot fake hours of media (and of silence filling) with a few packets whose
 * timestamps jump, nor make the recorder write frames out of order.
 *
 * - A frame whose timestamp would put the track more than `slackSeconds` ahead of its arrival time (counted
 *   from the track's first frame) starts a new timeline: it is placed where its arrival says (a gap of the
 *   real elapsed time), or right after the previous frame if that is later, and counted in `jumps`. Real
 *   pauses (DTX, mute, a frozen sender) advance RTP time and arrival time alike, so they keep their length.
 *   The track's media time is thereby bounded by elapsed time + slack, or by the media its frames carry.
 * - A frame whose timestamp is behind, equal to, or overlaps the previous frame (`minStep`) is dropped and
 *   counted in `backwards`; a jump back of more than `newTimelineBackSeconds` is a sender restart instead
 *   (new timeline, placed by arrival).
 *
 * Output timestamps are 32-bit RTP timestamps in the sender's clock rate, continuous across jumps, so the
 * clock and silence filling downstream see one plausible timeline.
 */
export interface TimelineGuardOptions {
  clockRate: number;
  /** How far media time may run ahead of arrival time (sender bursts, jitter of the first packet). */
  slackSeconds?: number;
  /** A jump back further than this is a new timeline (sender restart), not a stray old frame. */
  newTimelineBackSeconds?: number;
}

export class TimelineGuard {
  /** Frames placed on a new timeline because their timestamps jumped further than arrival allows. */
  jumps = 0;
  /** Frames dropped because their timestamps went backwards or overlapped the previous frame. */
  backwards = 0;

  private readonly rate: number;
  private readonly slack: number;
  private readonly back: number;
  /** Last accepted input timestamp (32-bit) and its output on an unwrapped, ever-growing scale. */
  private lastIn = -1;
  private out = 0;
  /** Output time and arrival of the track's first frame: the reference media time is held against. */
  private startOut = 0;
  private startArrivalMs = 0;

  constructor({ clockRate, slackSeconds = 3, newTimelineBackSeconds = 10 }: TimelineGuardOptions) {
    this.rate = clockRate;
    this.slack = slackSeconds * clockRate;
    this.back = newTimelineBackSeconds * clockRate;
  }

  /**
   * The timestamp to use for a frame that arrived at `arrivalMs`, or -1 to drop it. `minStep`: the least a
   * following frame may advance (the previous audio frame's duration; about 1 ms for video).
   */
  place(timestamp: number, arrivalMs: number, minStep: number): number {
    if (this.lastIn < 0) {
      this.lastIn = timestamp >>> 0;
      this.out = this.startOut = this.lastIn;
      this.startArrivalMs = arrivalMs;
      return this.lastIn;
    }
    const delta = (timestamp - this.lastIn) | 0; // signed 32-bit distance
    const arrived = this.startOut + ((arrivalMs - this.startArrivalMs) / 1000) * this.rate;
    if (delta < minStep) {
      if (-delta <= this.back) {
        this.backwards++;
        return -1;
      }
      this.jumps++;
      this.out = Math.max(this.out + minStep, Math.round(arrived));
    } else if (this.out + delta > arrived + this.slack) {
      // Ahead of real time: the frame follows the previous one (its own content is real), or its arrival if later.
      // After a burst of real content (a sender flushing its queue) this only shortens the pauses that follow,
      // until real time has caught up; a jump is counted when it throws away more than a second.
      const placed = Math.max(this.out + minStep, Math.round(arrived));
      if (this.out + delta - placed > this.rate) this.jumps++;
      this.out = placed;
    } else {
      this.out += delta;
    }
    this.lastIn = timestamp >>> 0;
    return this.out % 2 ** 32;
  }

  /** An input timestamp (e.g. a sender report's) on the output scale, with the current offset. */
  map(timestamp: number): number {
    if (this.lastIn < 0) return timestamp >>> 0;
    return (this.out + ((timestamp - this.lastIn) | 0)) % 2 ** 32 >>> 0;
  }
}

import { MAX_RTP_JUMP_S, SR_TOLERANCE_MICROS, TrackClock } from "./clock.ts";
import type { Frame, RtpFrame } from "./types.ts";

/** However long the wait, at most this many frames are held (memory bound; ~40 s of 30 fps video + 50 fps audio). */
const MAX_HELD_FRAMES = 4000;
/**
 * When no track has sender reports that agree by then, the hold ends here even if `waitMs` is longer: a sender
 * without SRs, or with broken ones, would not be helped by waiting. Once one track has them, the hold waits on (up to
 * `waitMs`) for the others' first SR: libwebrtc sends audio SRs every ~5 s, its first ~2.5 s into the call.
 */
const NO_SR_GIVE_UP_MS = 2000;

export interface SyncHoldOptions {
  /** The RTP clock rate of each track of the stream. */
  clockRates: readonly number[];
  /** Longest time to hold the stream's first frames for sender reports (from the first frame's arrival). */
  waitMs: number;
  /** Timed frames, in order per track. */
  out(track: number, frame: Frame): void;
}

/** How the stream's timing was decided, once it is. */
export interface SyncDecision {
  /** Per track: placed by sender reports ("sr"), by the least-delayed arrival of its held frames ("arrival"), or not yet sending. */
  tracks: ("sr" | "arrival" | "none")[];
  heldFrames: number;
  /** From the first frame's arrival to the decision (µs). */
  heldMicros: number;
}

interface Held {
  track: number;
  frame: RtpFrame;
  ext: number;
}

/**
 * The timing stage of one remote MediaStream. Every track is placed by one fixed mapping from RTP time, so each
 * interval in the file is the sender's RTP delta; what remains to decide is where each track starts, and that is
 * decided once, before its first frame goes out:
 * - The stream's first frames are held until every track has sent a frame and has a sender-report mapping that can
 *   be trusted (its SRs agree with each other, or the tracks' single SRs agree on the sender's delay), or `waitMs`
 *   has passed (NO_SR_GIVE_UP_MS when no track has trusted SRs by then). Tracks with such a mapping are placed
 *   by it: sender time + one offset for the stream, the delay of its least-delayed held frame, so audio and video
 *   sit where the sender captured them.
 * - A track without one (no SRs, or broken ones) is anchored so that its least-delayed held frame sits at its
 *   arrival: a late first frame (event-loop lag, a slow start) does not push the whole track late.
 * - A track whose first frame comes after the decision is placed by its trusted SRs and the stream's offset if it has
 *   them, else at its first frame's arrival.
 * Pure and synchronous: times are parameters (µs on the local wall clock).
 */
export class SyncHold {
  readonly clocks: TrackClock[];
  /** Set when the timing is decided (the held frames have gone out). */
  decision: SyncDecision | undefined;
  private held: Held[] | undefined = [];
  private readonly heldPerTrack: number[];
  private firstArrival: number | undefined;
  /** local µs = sender NTP µs + offset, for tracks placed by sender reports; undefined if none is. */
  private offset: number | undefined;
  private readonly options: SyncHoldOptions;

  constructor(options: SyncHoldOptions) {
    this.options = options;
    this.clocks = options.clockRates.map((rate) => new TrackClock(rate));
    this.heldPerTrack = options.clockRates.map(() => 0);
  }

  frame(track: number, frame: RtpFrame): void {
    const clock = this.clocks[track];
    const ext = clock.extend(frame.rtpTimestamp);
    if (this.held) {
      this.held.push({ track, frame, ext });
      this.heldPerTrack[track]++;
      this.firstArrival ??= frame.arrivalMicros;
      if (this.ready(frame.arrivalMicros)) this.release(frame.arrivalMicros);
      return;
    }
    if (!clock.anchored) this.anchorLate(clock, ext, frame.arrivalMicros);
    this.emit(track, frame, ext);
  }

  /** An RTCP sender report for a track (raw 64-bit NTP field and its RTP timestamp). */
  senderReport(track: number, ntp: bigint, rtpTimestamp: number, nowMicros: number): void {
    this.clocks[track].senderReport(ntp, rtpTimestamp);
    if (this.held && this.ready(nowMicros)) this.release(nowMicros);
  }

  /** Releases the held frames once the wait is over (called on a timer, so a stream that stops is not held forever). */
  poll(nowMicros: number): void {
    if (this.held && this.ready(nowMicros)) this.release(nowMicros);
  }

  /** End of stream: what is held goes out, timed with what is known. */
  flush(nowMicros: number): void {
    if (this.held?.length) this.release(nowMicros);
  }

  private ready(nowMicros: number): boolean {
    const held = this.held!;
    if (held.length === 0) return false;
    const waited = nowMicros - this.firstArrival!;
    if (waited >= this.options.waitMs * 1000 || held.length >= MAX_HELD_FRAMES) return true;
    if (waited >= NO_SR_GIVE_UP_MS * 1000 && this.clocks.every((c) => c.trustedBase === undefined)) return true;
    if (this.heldPerTrack.some((n) => n === 0)) return false;
    return this.senderMapped(this.clocks.map((_, i) => i)).size === this.clocks.length;
  }

  /**
   * The tracks (of `tracks`) that can be placed by sender reports, with their mapping: all of them if their SRs
   * agree with themselves, or if two or more tracks' latest SRs agree on the sender's delay (a browser's audio SRs
   * come every few seconds, so one each is what a short wait can have); otherwise those whose SRs agree.
   */
  private senderMapped(tracks: number[]): Map<number, number> {
    const trusted = new Map<number, number>();
    for (const t of tracks) {
      const base = this.clocks[t].trustedBase;
      if (base !== undefined) trusted.set(t, base);
    }
    if (trusted.size === tracks.length || tracks.length < 2) return trusted;
    const latest = tracks.map((t) => this.clocks[t].latestBase);
    if (latest.some((b) => b === undefined)) return trusted;
    const delays = tracks.map((t, i) => this.leastDelay(t, latest[i]!));
    if (Math.max(...delays) - Math.min(...delays) > SR_TOLERANCE_MICROS) return trusted;
    return new Map(tracks.map((t, i) => [t, latest[i]!]));
  }

  /** The smallest arrival − sender time over a track's held frames, by the SR mapping `base`. */
  private leastDelay(track: number, base: number): number {
    const rate = this.clocks[track].clockRate;
    let least = Infinity;
    for (const h of this.heldOf(track)) least = Math.min(least, h.frame.arrivalMicros - (base + (h.ext * 1e6) / rate));
    return least;
  }

  /** A track's held frames up to its first discontinuity (after one, its RTP time says nothing about the anchor). */
  private heldOf(track: number): Held[] {
    const out: Held[] = [];
    const maxJump = this.clocks[track].clockRate * MAX_RTP_JUMP_S;
    for (const h of this.held!) {
      if (h.track !== track) continue;
      if (out.length > 0 && Math.abs(h.ext - out[out.length - 1].ext) > maxJump) break;
      out.push(h);
    }
    return out;
  }

  private release(nowMicros: number): void {
    const held = this.held!;
    const tracks = this.clocks.map((_, i) => i).filter((t) => this.heldPerTrack[t] > 0);
    const mapped = this.senderMapped(tracks);
    if (mapped.size > 0) {
      this.offset = Math.min(...[...mapped].map(([t, base]) => this.leastDelay(t, base)));
      for (const [t, base] of mapped) this.clocks[t].anchorBySender(base, this.offset);
    }
    for (const t of tracks) {
      if (mapped.has(t)) continue;
      // The least-delayed frame at its arrival: the anchor is the earliest local time the held frames allow.
      const rate = this.clocks[t].clockRate;
      const frames = this.heldOf(t);
      const first = frames[0].ext;
      this.clocks[t].anchorAt(first, Math.min(...frames.map((h) => h.frame.arrivalMicros - ((h.ext - first) * 1e6) / rate)));
    }
    this.decision = {
      tracks: this.clocks.map((_, t) => (mapped.has(t) ? "sr" : this.heldPerTrack[t] > 0 ? "arrival" : "none")),
      heldFrames: held.length,
      heldMicros: nowMicros - this.firstArrival!,
    };
    this.held = undefined;
    // Placed track by track in their order, then handed on in time order: the recorder's file starts with the
    // earliest frame of any track, not with whichever arrived first.
    const timed = held.map((h) => ({ track: h.track, frame: this.timed(h.track, h.frame, h.ext) }));
    timed.sort((a, b) => a.frame.ptsMicros - b.frame.ptsMicros);
    for (const t of timed) this.options.out(t.track, t.frame);
  }

  /** A track that starts after the decision. */
  private anchorLate(clock: TrackClock, ext: number, arrivalMicros: number): void {
    const base = clock.trustedBase;
    if (base !== undefined && this.offset !== undefined) clock.anchorBySender(base, this.offset);
    else clock.anchorAt(ext, arrivalMicros);
  }

  private emit(track: number, f: RtpFrame, ext: number): void {
    this.options.out(track, this.timed(track, f, ext));
  }

  private timed(track: number, f: RtpFrame, ext: number): Frame {
    return { kind: f.kind, codec: f.codec, keyframe: f.keyframe, data: f.data, ptsMicros: this.clocks[track].place(ext, f.arrivalMicros) };
  }
}

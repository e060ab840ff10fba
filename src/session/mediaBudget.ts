import { RecbotError } from "../util/errors.ts";

/**
 * How much media one client may ask for: m-lines per offer, tracks and MediaStreams per session, and
 * MediaStreams over all sessions. Each remote MediaStream becomes one ffmpeg process, so these bound the
 * processes, pipes and file descriptors a single offer can make recbot open.
 */
export interface MediaLimits {
  maxMediaSections: number;
  maxTracksPerSession: number;
  maxStreamsPerSession: number;
  maxStreamsTotal: number;
}

export type LimitName = "media_sections" | "tracks" | "streams" | "streams_total";
const LIMITS: readonly LimitName[] = ["media_sections", "tracks", "streams", "streams_total"];

/** The error code the client gets for each limit, and the WHIP status: the offer itself (400) or the server (503). */
export const limitErrors: Record<LimitName, { code: string; status: number }> = {
  media_sections: { code: "too_many_media_sections", status: 400 },
  tracks: { code: "too_many_tracks", status: 400 },
  streams: { code: "too_many_streams", status: 400 },
  streams_total: { code: "stream_limit_reached", status: 503 },
};

/** WHIP status for a limit's error code, undefined for other codes. */
export function limitStatus(code: string): number | undefined {
  for (const l of LIMITS) if (limitErrors[l].code === code) return limitErrors[l].status;
  return undefined;
}

export class LimitError extends RecbotError {
  readonly limit: LimitName;
  constructor(limit: LimitName, message: string, context?: Record<string, unknown>) {
    super(limitErrors[limit].code, message, context);
    this.limit = limit;
  }
}

/** m-lines in an SDP, counted on the text before any parser (werift's included) sees it. */
export function countMediaSections(sdp: string): number {
  let n = sdp.startsWith("m=") ? 1 : 0;
  for (let i = sdp.indexOf("\nm="); i >= 0; i = sdp.indexOf("\nm=", i + 3)) n++;
  return n;
}

/** Slots of the shared counters: totals, refusals by limit, then (streams, tracks) per worker thread. */
const STREAMS = 0;
const TRACKS = 1;
const REFUSED = 2;
const OWNERS = REFUSED + LIMITS.length;

export interface BudgetPlace {
  /** The main thread's budget: how many worker threads will share it. */
  workers?: number;
  /** A worker thread's budget: the main thread's `shared` memory and this worker's index. */
  shared?: SharedArrayBuffer;
  owner?: number;
}

/**
 * The media admitted now, over every session: counters in shared memory, so session worker threads
 * (config `workers`) take from one budget. A session takes its tracks and streams when its offer is
 * applied and gives them back when it closes.
 */
export class MediaBudget {
  /** Pass to worker threads (workerData) and rebuild there with `new MediaBudget(limits, { shared, owner })`. */
  readonly shared: SharedArrayBuffer;
  readonly limits: MediaLimits;
  private readonly counts: Int32Array;

  /** Index of the worker thread this budget is used in (its admissions are also counted per worker), or -1. */
  private readonly owner: number;

  constructor(limits: MediaLimits, place: BudgetPlace = {}) {
    this.limits = limits;
    this.shared = place.shared ?? new SharedArrayBuffer(4 * (OWNERS + 2 * (place.workers ?? 0)));
    this.counts = new Int32Array(this.shared);
    this.owner = place.owner ?? -1;
  }

  get streamsActive(): number {
    return Atomics.load(this.counts, STREAMS);
  }

  get tracksActive(): number {
    return Atomics.load(this.counts, TRACKS);
  }

  /** Offers and answers refused, by limit. */
  refused(limit: LimitName): number {
    return Atomics.load(this.counts, REFUSED + LIMITS.indexOf(limit));
  }

  private refuse(limit: LimitName, message: string, context?: Record<string, unknown>): never {
    Atomics.add(this.counts, REFUSED + LIMITS.indexOf(limit), 1);
    throw new LimitError(limit, message, context);
  }

  /** Throws before an SDP with too many m-lines is parsed. */
  checkMediaSections(sdp: string, context?: Record<string, unknown>): void {
    const n = countMediaSections(sdp);
    const max = this.limits.maxMediaSections;
    if (n > max) this.refuse("media_sections", `the SDP has ${n} media sections (m-lines); recbot takes at most ${max}`, context);
  }

  /** recbot's own offer (`call`): the same bound on the transceivers it is asked to make. */
  checkTransceivers(n: number, context?: Record<string, unknown>): void {
    const max = this.limits.maxMediaSections;
    if (n > max) this.refuse("media_sections", `${n} transceivers asked for; recbot takes at most ${max}`, context);
  }

  /**
   * Admits one session's tracks and streams, or throws which limit they exceed. Returns the release
   * to call when the session ends (idempotent).
   */
  admit(tracks: number, streams: number, context?: Record<string, unknown>): () => void {
    const { maxTracksPerSession, maxStreamsPerSession, maxStreamsTotal } = this.limits;
    if (tracks > maxTracksPerSession) this.refuse("tracks", `the offer has ${tracks} tracks; recbot records at most ${maxTracksPerSession} per session`, context);
    if (streams > maxStreamsPerSession) {
      this.refuse("streams", `the offer has ${streams} MediaStreams (msid); recbot records at most ${maxStreamsPerSession} per session`, context);
    }
    for (;;) {
      const now = Atomics.load(this.counts, STREAMS);
      if (now + streams > maxStreamsTotal) {
        this.refuse("streams_total", `recbot is recording ${now} MediaStreams, its limit is ${maxStreamsTotal}; try again later`, context);
      }
      if (Atomics.compareExchange(this.counts, STREAMS, now, now + streams) === now) break;
    }
    Atomics.add(this.counts, TRACKS, tracks);
    const slot = OWNERS + 2 * this.owner;
    if (this.owner >= 0) {
      Atomics.add(this.counts, slot, streams);
      Atomics.add(this.counts, slot + 1, tracks);
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (this.owner >= 0) {
        Atomics.sub(this.counts, slot, streams);
        Atomics.sub(this.counts, slot + 1, tracks);
      }
      Atomics.sub(this.counts, STREAMS, streams);
      Atomics.sub(this.counts, TRACKS, tracks);
    };
  }

  /** A worker thread died without closing its sessions: give back what they held (before a replacement starts). */
  releaseWorker(index: number): void {
    const slot = OWNERS + 2 * index;
    Atomics.sub(this.counts, STREAMS, Atomics.exchange(this.counts, slot, 0));
    Atomics.sub(this.counts, TRACKS, Atomics.exchange(this.counts, slot + 1, 0));
  }
}

export function mediaLimitsOf(config: MediaLimits): MediaLimits {
  const { maxMediaSections, maxTracksPerSession, maxStreamsPerSession, maxStreamsTotal } = config;
  return { maxMediaSections, maxTracksPerSession, maxStreamsPerSession, maxStreamsTotal };
}

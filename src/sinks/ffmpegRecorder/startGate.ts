import { vp8Size } from "../../media/bitstream.ts";
import type { Frame } from "../../media/types.ts";
import type { MkvTrack } from "./mkvStream.ts";

export interface HeldFrame {
  track: number;
  frame: Frame;
}

/**
 * The start of one segment: holds a stream's first frames until every video track has a keyframe (a file
 * cannot start on a delta frame, and the keyframe gives the Matroska header its size) or `waitMs` has
 * passed since the first frame, holding early audio meanwhile. Made fresh for each segment.
 */
export class StartGate {
  private readonly held: HeldFrame[] = [];
  private readonly keyframeSeen: boolean[] = [];
  private firstMs: number | undefined;
  private readonly tracks: MkvTrack[];
  private readonly waitMs: number;

  /** `tracks` get their video size from the first keyframe (when its codec tells it). */
  constructor(tracks: MkvTrack[], waitMs: number) {
    this.tracks = tracks;
    this.waitMs = waitMs;
  }

  /** Holds a frame; returns true when the segment may start (then `release` gives the frames in time order). */
  hold(track: number, frame: Frame, nowMs: number): boolean {
    this.firstMs ??= nowMs;
    const t = this.tracks[track];
    if (t.kind === "video") {
      if (!frame.keyframe && !this.keyframeSeen[track]) return false; // a segment cannot start on a delta frame
      if (frame.keyframe) {
        this.keyframeSeen[track] = true;
        if (t.width === undefined) {
          const size = frame.codec === "vp8" ? vp8Size(frame.data) : undefined;
          t.width = size?.width ?? 0;
          t.height = size?.height ?? 0;
        }
      }
    }
    this.held.push({ track, frame });
    return this.tracks.every((m, i) => m.kind !== "video" || this.keyframeSeen[i]) || this.expired(nowMs);
  }

  private expired(nowMs: number): boolean {
    return this.held.length > 0 && nowMs - this.firstMs! >= this.waitMs;
  }

  /** The held frames, oldest first (empty if none could be kept). */
  release(): HeldFrame[] {
    return this.held.sort((a, b) => a.frame.ptsMicros - b.frame.ptsMicros);
  }
}

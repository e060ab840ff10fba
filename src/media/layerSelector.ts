import { vp8Size } from "./bitstream.ts";
import type { Frame } from "./types.ts";

/** Which simulcast layer to record: the largest picture, the smallest, or one rid by name. */
export type LayerPreference = "highest" | "lowest" | string;

export interface LayerSelectorOutput {
  /** A frame of the layer being recorded. */
  frame(frame: Frame): void;
  /** Ask this layer's sender for a keyframe (PLI): recording switches to it at its next keyframe. */
  requestKeyframe(rid: string): void;
  /** Recording continues with `rid` from this frame on. */
  switched(rid: string, frame: Frame): void;
}

interface Layer {
  rid: string;
  lastFrameMs: number;
  /** Picture size of its last keyframe (pixels), or the keyframe's byte size where the codec does not say. */
  rank: number;
}

/** A layer that sent no frame for this long has stopped (disabled by the sender, or starved of bandwidth). */
export const LAYER_STALE_MS = 600;
const KEYFRAME_RETRY_MS = 500;
/** Frames of two layers this close in time are the same picture (a third of a frame at 30 fps). */
const SAME_INSTANT_MICROS = 10_000;

/**
 * Records one simulcast layer out of several (one RTP stream per rid, each its own picture size). All layers are
 * depacketized; only the chosen one's frames go out. It switches only at a keyframe of the new layer (asking for one),
 * so the file never shows a frame that refers to another layer's pictures: when the recorded layer stops, to the best
 * remaining one; when a better one (by the preference) is back, to that one. Timestamps must share one clock (the
 * stream's), so frames stay in order across a switch; any frame not later than the last written one is dropped.
 * Output runs one frame behind (see `held`); `flush` at the end.
 */
export class LayerSelector {
  private readonly layers = new Map<string, Layer>();
  private active: string | undefined;
  private pending: string | undefined;
  private lastRequestMs = -Infinity;
  /** Last pts written. */
  private lastPts = -Infinity;
  /** The recorded layer's latest frame, held back by one frame in case another layer's keyframe of the same instant follows. */
  private held: Frame | undefined;
  /** The held frame starts the recording of this layer (reported when it is written). */
  private heldSwitch: string | undefined;
  private readonly preference: LayerPreference;
  private readonly out: LayerSelectorOutput;

  constructor(rids: readonly string[], preference: LayerPreference, out: LayerSelectorOutput) {
    for (const rid of rids) this.layers.set(rid, { rid, lastFrameMs: -Infinity, rank: 0 });
    this.preference = preference;
    this.out = out;
  }

  get recording(): string | undefined {
    return this.active;
  }

  push(rid: string, frame: Frame, nowMs: number): void {
    const layer = this.layers.get(rid);
    if (!layer) return;
    layer.lastFrameMs = nowMs;
    if (frame.keyframe) layer.rank = pictureSize(frame);
    if (rid !== this.active) {
      if (!frame.keyframe || frame.ptsMicros <= this.lastPts) return;
      // Only a keyframe of the layer wanted now. At the start that is the best layer so far; a better one that starts
      // later (a sender enables its top layers as its estimate grows) takes over at its own first keyframe.
      if (rid !== this.wanted(nowMs)) return;
      // The layers carry the same pictures: the old layer's frame of this instant may already be held (each layer is
      // placed by its own sender reports, so their times can differ by a millisecond). Drop it, so the file has one
      // frame per instant and time only moves forward.
      if (this.held && this.held.ptsMicros >= frame.ptsMicros - SAME_INSTANT_MICROS) {
        this.held = undefined;
        this.heldSwitch = undefined;
      }
      this.active = rid;
      this.pending = undefined;
      this.emitHeld(frame);
      this.held = frame;
      this.heldSwitch = rid;
      return;
    }
    if (this.held && frame.ptsMicros <= this.held.ptsMicros) return;
    this.emitHeld(frame);
    this.held = frame;
  }

  /** Writes the held frame if `next` comes after it (a switch is reported when its first frame is written). */
  private emitHeld(next: Frame): void {
    const held = this.held;
    if (!held || next.ptsMicros <= held.ptsMicros) return;
    if (this.heldSwitch) this.out.switched(this.heldSwitch, held);
    this.heldSwitch = undefined;
    this.lastPts = held.ptsMicros;
    this.out.frame(held);
    this.held = undefined;
  }

  /** End of stream: the frame held back goes out. */
  flush(): void {
    if (!this.held) return;
    if (this.heldSwitch) this.out.switched(this.heldSwitch, this.held);
    this.out.frame(this.held);
    this.held = undefined;
    this.heldSwitch = undefined;
  }

  /** Called regularly: notices a stopped or returned layer and asks the wanted one for a keyframe. */
  poll(nowMs: number): void {
    const wanted = this.wanted(nowMs);
    if (wanted === undefined || wanted === this.active) {
      this.pending = undefined;
      return;
    }
    if (this.pending !== wanted || nowMs - this.lastRequestMs >= KEYFRAME_RETRY_MS) {
      this.pending = wanted;
      this.lastRequestMs = nowMs;
      this.out.requestKeyframe(wanted);
    }
  }

  /** The layer to record now: by preference among those sending, known by their keyframes. */
  private wanted(nowMs: number): string | undefined {
    const alive = [...this.layers.values()].filter((l) => nowMs - l.lastFrameMs < LAYER_STALE_MS && l.rank > 0);
    if (alive.length === 0) return undefined;
    const named = alive.find((l) => l.rid === this.preference);
    if (named) return named.rid;
    const sorted = alive.sort((a, b) => b.rank - a.rank);
    return (this.preference === "lowest" ? sorted.at(-1)! : sorted[0]).rid;
  }
}

function pictureSize(frame: Frame): number {
  const size = frame.codec === "vp8" ? vp8Size(frame.data) : undefined;
  // Without a size from the bitstream, a bigger keyframe is a bigger picture (same content, same codec).
  return size ? size.width * size.height * 1000 : frame.data.length;
}

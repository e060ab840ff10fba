/**
 * The composite's plan, as pure data: which participant is on screen when (a grid that adapts to who is present),
 * and the ffmpeg filter graph that draws it from the participants' recordings placed on recbot's common clock.
 * No I/O here; compositor.ts runs the plan.
 */

/** One media file of a participant (a recording, or one segment of it), placed on the wall clock. */
export interface MediaPiece {
  file: string;
  /** Wall-clock ms (recbot's clock) of the file's time 0. */
  originMs: number;
  hasVideo: boolean;
  hasAudio: boolean;
  /**
   * Stretches of the file (seconds of the file's own time) with no video although the file goes on: the camera was
   * switched off mid-call. The still tile covers the participant's tile there instead of their last frame.
   */
  videoGaps?: VideoGap[];
}

/** [from, to) in seconds of a file's time. */
export interface VideoGap {
  from: number;
  to: number;
}

export interface LayoutParticipant {
  id: string;
  name: string;
  joinedMs: number;
  /** Undefined while still in the call (the composite then ends at `endMs`). */
  leftMs?: number;
  media: MediaPiece[];
}

export interface LayoutInput {
  participants: LayoutParticipant[];
  startMs: number;
  endMs: number;
  width: number;
  height: number;
  fps: number;
  /** Per participant, a file holding their name (drawtext reads it: names never enter the filter syntax). */
  nameFile: (participantId: string) => string;
  fontFile: string;
}

export interface Tile {
  participantId: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

/** A stretch of the call (seconds on the composite's timeline) with the same people present. */
export interface LayoutInterval {
  from: number;
  to: number;
  tiles: Tile[];
}

export interface CompositePlan {
  inputs: string[];
  filter: string;
  video: string;
  audio: string | undefined;
  durationS: number;
  intervals: LayoutInterval[];
}

const BACKGROUND = "0x101418";
const TILE = "0x2a3038";
const even = (n: number) => Math.max(2, Math.floor(n / 2) * 2);
const sec = (ms: number) => Math.round(ms) / 1000;
const round3 = (s: number) => Math.round(s * 1000) / 1000;

/** Columns and rows for n tiles: as square as possible, wider than tall. */
export function gridShape(n: number): { cols: number; rows: number } {
  if (n <= 0) return { cols: 0, rows: 0 };
  const cols = Math.ceil(Math.sqrt(n));
  return { cols, rows: Math.ceil(n / cols) };
}

/** Tile rectangles for n participants on a width x height canvas; a short last row is centred. */
export function gridTiles(ids: readonly string[], width: number, height: number): Tile[] {
  const { cols, rows } = gridShape(ids.length);
  if (!cols) return [];
  const w = even(width / cols);
  const h = even(height / rows);
  const top = Math.floor((height - rows * h) / 2);
  return ids.map((participantId, i) => {
    const row = Math.floor(i / cols);
    const inRow = Math.min(cols, ids.length - row * cols);
    const left = Math.floor((width - inRow * w) / 2);
    return { participantId, x: left + (i % cols) * w, y: top + row * h, w, h };
  });
}

/** Splits the call at every join and leave; each stretch gets the grid of the participants present in it. */
export function layoutIntervals(participants: readonly LayoutParticipant[], startMs: number, endMs: number, width: number, height: number): LayoutInterval[] {
  const durationS = sec(endMs - startMs);
  const at = (ms: number) => Math.min(durationS, Math.max(0, sec(ms - startMs)));
  const spans = participants.map((p) => ({ id: p.id, from: at(p.joinedMs), to: at(p.leftMs ?? endMs) }));
  const cuts = [...new Set([0, durationS, ...spans.flatMap((s) => [s.from, s.to])])].sort((a, b) => a - b);
  const intervals: LayoutInterval[] = [];
  for (let i = 0; i + 1 < cuts.length; i++) {
    const [from, to] = [cuts[i], cuts[i + 1]];
    if (to <= from) continue;
    // Join order keeps each person's place in the grid stable while others come and go.
    const present = spans.filter((s) => s.from <= from && s.to >= to).map((s) => s.id);
    const last = intervals.at(-1);
    if (last && last.tiles.map((t) => t.participantId).join() === present.join()) last.to = to;
    else intervals.push({ from, to, tiles: gridTiles(present, width, height) });
  }
  return intervals;
}

/**
 * The filter graph. Video: a canvas at the output rate; per interval, a box per present participant (the still tile,
 * seen until their video arrives or while it is missing), their video trimmed to the interval, scaled to fit and
 * overlaid, the still tile again over gaps inside a file (video switched off), and their name on top. Audio: each
 * piece delayed to its place on the clock, then mixed.
 */
export function buildPlan(input: LayoutInput): CompositePlan {
  const { participants, startMs, endMs, width, height, fps } = input;
  const durationS = sec(endMs - startMs);
  const intervals = layoutIntervals(participants, startMs, endMs, width, height);
  const inputs: string[] = [];
  const chains: string[] = [`color=c=${BACKGROUND}:s=${width}x${height}:r=${fps}:d=${durationS},format=yuv420p[base]`];
  const audioLabels: string[] = [];
  const overlays: { label: string; tile: Tile }[] = [];
  const stills: { from: number; to: number; tile: Tile }[] = [];
  const enable = (iv: LayoutInterval) => `enable='between(t,${iv.from},${iv.to})'`;

  for (const p of participants) {
    for (const piece of p.media) {
      const index = inputs.push(piece.file) - 1;
      const offsetS = sec(piece.originMs - startMs);
      if (piece.hasVideo) {
        // Same shift as the video's, so the still tile starts and ends on the frames that start and end the gap.
        const gapShift = offsetS - 0.5 / fps;
        for (const gap of piece.videoGaps ?? []) {
          for (const iv of intervals) {
            const tile = iv.tiles.find((t) => t.participantId === p.id);
            const from = Math.max(iv.from, round3(gap.from + gapShift));
            const to = Math.min(iv.to, round3(gap.to + gapShift));
            if (tile && to > from) stills.push({ from, to, tile });
          }
        }
        const uses = intervals.filter((iv) => iv.tiles.some((t) => t.participantId === p.id) && iv.to > offsetS);
        if (uses.length) {
          // Half a frame earlier: the canvas then shows each video frame at its nearest output frame, not the next one.
          const shift = offsetS - 0.5 / fps;
          chains.push(`[${index}:v]setpts=PTS+(${shift.toFixed(4)})/TB,split=${uses.length}${uses.map((_, u) => `[v${index}s${u}]`).join("")}`);
          uses.forEach((iv, u) => {
            const tile = iv.tiles.find((t) => t.participantId === p.id)!;
            const label = `v${index}t${u}`;
            chains.push(
              `[v${index}s${u}]trim=start=${iv.from}:end=${iv.to},` +
                `scale=${tile.w}:${tile.h}:force_original_aspect_ratio=decrease,` +
                `pad=${tile.w}:${tile.h}:(ow-iw)/2:(oh-ih)/2:color=${TILE},setsar=1,format=yuv420p[${label}]`,
            );
            overlays.push({ label, tile });
          });
        }
      }
      if (piece.hasAudio) {
        const label = `a${index}`;
        // Samples placed by their timestamps from the file's time 0, then the whole piece moved to its place in the call.
        const place = offsetS >= 0 ? `adelay=delays=${Math.round(offsetS * 1000)}:all=1` : `atrim=start=${-offsetS},asetpts=PTS-STARTPTS`;
        chains.push(`[${index}:a]aresample=async=1:first_pts=0,${place},aformat=sample_fmts=fltp:sample_rates=48000:channel_layouts=stereo[${label}]`);
        audioLabels.push(label);
      }
    }
  }

  // Canvas: still tiles, then videos, then names on top.
  const boxes = intervals.flatMap((iv) => iv.tiles.map((t) => `drawbox=x=${t.x + 2}:y=${t.y + 2}:w=${t.w - 4}:h=${t.h - 4}:color=${TILE}:t=fill:${enable(iv)}`));
  let current = "base";
  let step = 0;
  if (boxes.length) {
    chains.push(`[base]${boxes.join(",")}[c${step}]`);
    current = `c${step++}`;
  }
  for (const { label, tile } of overlays) {
    chains.push(`[${current}][${label}]overlay=x=${tile.x}:y=${tile.y}:eof_action=pass:repeatlast=0[c${step}]`);
    current = `c${step++}`;
  }
  // Video switched off mid-file: the still tile again, over the last frame the overlay would otherwise hold.
  if (stills.length) {
    const still = stills.map(({ from, to, tile: t }) => {
      const on = `enable='gte(t,${from})*lt(t,${to})'`;
      return `drawbox=x=${t.x}:y=${t.y}:w=${t.w}:h=${t.h}:color=${BACKGROUND}:t=fill:${on},` +
        `drawbox=x=${t.x + 2}:y=${t.y + 2}:w=${t.w - 4}:h=${t.h - 4}:color=${TILE}:t=fill:${on}`;
    });
    chains.push(`[${current}]${still.join(",")}[c${step}]`);
    current = `c${step++}`;
  }
  const names = intervals.flatMap((iv) =>
    iv.tiles.map((t) => {
      const size = Math.max(12, Math.min(32, Math.round(t.h / 14)));
      return `drawtext=fontfile=${input.fontFile}:textfile=${input.nameFile(t.participantId)}:fontsize=${size}:fontcolor=white:expansion=none:` +
        `box=1:boxcolor=black@0.55:boxborderw=6:x=${t.x + 12}:y=${t.y + t.h - size - 18}:${enable(iv)}`;
    }),
  );
  chains.push(`[${current}]${names.length ? names.join(",") : "null"}[vout]`);

  let audio: string | undefined;
  if (audioLabels.length) {
    const mix = audioLabels.length === 1 ? `[${audioLabels[0]}]anull` : `${audioLabels.map((l) => `[${l}]`).join("")}amix=inputs=${audioLabels.length}:duration=longest:dropout_transition=0:normalize=0`;
    chains.push(`${mix},apad=whole_dur=${durationS},atrim=end=${durationS}[aout]`);
    audio = "aout";
  }
  return { inputs, filter: chains.join(";"), video: "vout", audio, durationS, intervals };
}

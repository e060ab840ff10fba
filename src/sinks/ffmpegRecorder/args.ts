import type { StreamContainer } from "../../recordings/metadata.ts";
import type { CodecName } from "../../media/types.ts";

/** The container that holds every codec of the stream without transcoding. */
export function containerFor(codecs: readonly CodecName[]): StreamContainer {
  const webm = new Set<CodecName>(["vp8", "vp9", "av1", "opus"]);
  return codecs.every((c) => webm.has(c)) ? "webm" : "mkv";
}

/**
 * Codecs whose every parameter `-c copy` needs is in recbot's Matroska track header: the codec, the Opus header, and
 * for VP8 the picture size (read from its keyframe, startGate.ts). VP9 (no size in the header), H.264 and AV1 (their
 * CodecPrivate — SPS/PPS, sequence header — comes in-band) need ffmpeg to read the first frames: without probing,
 * Chromium's VP9, H.264 and AV1 made ffmpeg exit with an error (test/e2e/chromiumCodecs.test.ts).
 */
const HEADER_COMPLETE = new Set<CodecName>(["vp8", "opus", "pcmu", "pcma"]);

/**
 * ffmpeg options for reading recbot's Matroska stream from stdin. When the header holds everything, ffmpeg needs no
 * probing: it reads the header and starts writing. With 64 KiB / 0.5 s of probing the first keyframe reached the disk
 * up to half a second later and ffmpeg held that much media in memory. (On Debian's ffmpeg 5.1 most of its ~10 MB
 * private memory is relocated shared-library data, which no option changes; see docs/bench.md.)
 */
export function inputOptions(codecs: readonly CodecName[] = []): string[] {
  if (codecs.length > 0 && codecs.every((c) => HEADER_COMPLETE.has(c))) return [...QUIET, "-probesize", "32", "-analyzeduration", "0", "-fpsprobesize", "0"];
  return [...QUIET, "-probesize", "65536", "-analyzeduration", "500000"];
}

/**
 * ffmpeg says only what went wrong: no banner, no stream listing, no progress line twice a second. recbot keeps the
 * last lines of stderr for its error message; the rest was read and split into lines for nothing, per process.
 */
const QUIET = ["-hide_banner", "-nostats", "-loglevel", "warning"];

/** ffmpeg options for the output file: copy, flush often so a killed process leaves a playable file. */
export function outputOptions(container: StreamContainer): string[] {
  return [
    "-map", "0",
    "-c", "copy",
    "-f", container === "webm" ? "webm" : "matroska",
    // Each cluster and packet reaches the file promptly: a crash loses the cluster in progress, and the first keyframe
    // is on disk 200 ms after the first frame (500 ms cost 0.3–0.5 s of offer→keyframe on disk, docs/media.md).
    "-cluster_time_limit", "200",
    "-flush_packets", "1",
    "-y",
  ];
}

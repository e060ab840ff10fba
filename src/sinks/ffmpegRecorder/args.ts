import type { StreamContainer } from "../../recordings/metadata.ts";
import type { CodecName } from "../../media/types.ts";

/** The container that holds every codec of the stream without transcoding. */
export function containerFor(codecs: readonly CodecName[]): StreamContainer {
  const webm = new Set<CodecName>(["vp8", "vp9", "av1", "opus"]);
  return codecs.every((c) => webm.has(c)) ? "webm" : "mkv";
}

/**
 * ffmpeg options for reading recbot's Matroska stream from stdin. recbot writes that stream itself and its
 * header already holds every codec parameter ffmpeg needs for `-c copy` (codec, Opus header, video size), so
 * ffmpeg needs no probing: it reads the header and starts writing. With the former 64 KiB / 0.5 s of probing,
 * the first keyframe reached the disk up to half a second later and ffmpeg held that much media in memory.
 * (Measured on Debian's ffmpeg 5.1: most of its ~10 MB private memory is relocated shared-library data, which
 * no option changes; see docs/bench.md.)
 */
export function inputOptions(): string[] {
  return ["-probesize", "32", "-analyzeduration", "0", "-fpsprobesize", "0"];
}

/** ffmpeg options for the output file: copy, flush often so a killed process leaves a playable file. */
export function outputOptions(container: StreamContainer): string[] {
  return [
    "-map", "0",
    "-c", "copy",
    "-f", container === "webm" ? "webm" : "matroska",
    // Each cluster and packet reaches the file promptly: a crash loses about half a second (the cluster in progress).
    "-cluster_time_limit", "500",
    "-flush_packets", "1",
    "-y",
  ];
}

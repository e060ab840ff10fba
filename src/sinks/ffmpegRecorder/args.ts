import type { StreamContainer } from "../../recordings/metadata.ts";
import type { CodecName } from "../../media/types.ts";

/** The container that holds every codec of the stream without transcoding. */
export function containerFor(codecs: readonly CodecName[]): StreamContainer {
  const webm = new Set<CodecName>(["vp8", "vp9", "av1", "opus"]);
  return codecs.every((c) => webm.has(c)) ? "webm" : "mkv";
}

/** ffmpeg options for reading recbot's Matroska stream from stdin. */
export function inputOptions(): string[] {
  // Codec parameters are all in the stream header; small probing makes the first frame reach disk sooner.
  return ["-probesize", "65536", "-analyzeduration", "500000"];
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

import path from "node:path";
import type { RecordingMetadata } from "./metadata.ts";

/**
 * A recording as clients see it (HTTP API, WebSocket `recording` messages, WHIP DELETE, webhooks): file names
 * relative to the recordings directory, never the server's absolute paths. The sidecar on disk keeps the full
 * paths recbot itself works with.
 */
export function publicRecording(meta: RecordingMetadata): RecordingMetadata {
  const view: RecordingMetadata = { ...meta, file: path.basename(meta.file) };
  if (meta.segments) view.segments = meta.segments.map((s) => ({ ...s, file: path.basename(s.file) }));
  if (meta.error) view.error = withoutDir(meta.error, meta.file);
  return view;
}

/** `text` (an error message, e.g. from the file system) with the recordings directory of `file` taken out. */
export function withoutDir(text: string, file: string): string {
  return text.replaceAll(path.dirname(file) + path.sep, "");
}

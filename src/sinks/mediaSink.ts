import type { Frame } from "../media/types.ts";

/**
 * Where the frames of one remote MediaStream go. `track` is the index of the track in the
 * stream's track list given when the sink was made. `close` finalizes and is idempotent.
 */
export interface MediaSink {
  write(track: number, frame: Frame): void;
  close(): Promise<void>;
}

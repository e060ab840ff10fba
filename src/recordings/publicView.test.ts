import { describe, expect, it } from "vitest";
import type { RecordingMetadata } from "./metadata.ts";
import { publicRecording } from "./publicView.ts";

describe("publicRecording", () => {
  it("gives file names relative to the recordings directory and leaves the rest", () => {
    const meta: RecordingMetadata = {
      id: "rec_1", sessionId: "s", streamId: "cam", file: "/srv/recbot/recordings/rec_1.webm", container: "webm",
      segments: [{ file: "/srv/recbot/recordings/rec_1.webm", startMs: 0 }, { file: "/srv/recbot/recordings/rec_1.s2.webm", startMs: 5000 }],
      tracks: [{ kind: "video", codec: "vp8" }], state: "finished", startedAt: "2026-01-01T00:00:00.000Z",
    };
    const view = publicRecording(meta);
    expect(view.file).toBe("rec_1.webm");
    expect(view.segments).toEqual([{ file: "rec_1.webm", startMs: 0 }, { file: "rec_1.s2.webm", startMs: 5000 }]);
    expect(JSON.stringify(view)).not.toContain("/srv/");
    expect(meta.file).toBe("/srv/recbot/recordings/rec_1.webm"); // the sidecar's copy is untouched
    expect({ ...view, file: meta.file, segments: meta.segments }).toEqual(meta);
  });

  it("takes the recordings directory out of an error message", () => {
    const meta = { id: "rec_1", file: "/srv/rec/rec_1.webm", error: "ENOSPC: no space left on device, write '/srv/rec/rec_1.webm'" } as RecordingMetadata;
    expect(publicRecording(meta).error).toBe("ENOSPC: no space left on device, write 'rec_1.webm'");
  });
});

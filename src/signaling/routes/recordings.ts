import path from "node:path";
import fastifyStatic from "@fastify/static";
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import type { RecordingMetadata } from "../../recordings/metadata.ts";
import { isRecordingId, type RecordingStore } from "../../recordings/store.ts";

const mimeTypes: Record<RecordingMetadata["container"], string> = { webm: "video/webm", mkv: "video/x-matroska" };

/** What the API shows of a sidecar: no server paths, a URL to fetch the media instead. */
function publicView(meta: RecordingMetadata) {
  return { ...meta, file: path.basename(meta.file), url: `recordings/${meta.id}/file` };
}

/**
 * A minimal recordings API for the demo page: the list (from the JSON sidecars) and each media file.
 * Ids are checked against the store's pattern before any path is built, so no path traversal.
 */
export async function recordingsRoute(app: FastifyInstance, { store }: { store: RecordingStore }): Promise<void> {
  // Only for reply.sendFile (ranges, ETag, streaming); nothing is served from the directory by itself.
  await app.register(fastifyStatic, { root: store.dir, serve: false });
  app.get("/recordings", async () => ({ recordings: (await store.list()).map(publicView) }));

  const params = Type.Object({ id: Type.String({ maxLength: 100 }) });
  app.get<{ Params: { id: string } }>("/recordings/:id/file", { schema: { params } }, async (request, reply) => {
    const { id } = request.params;
    if (!isRecordingId(id)) return reply.code(400).send({ code: "bad_recording_id", message: "not a recording id" });
    const meta = await store.get(id);
    if (!meta) return reply.code(404).send({ code: "recording_not_found", message: `no recording ${id}` });
    const name = path.basename(store.mediaPath(id, meta.container));
    reply.type(mimeTypes[meta.container]);
    return reply.sendFile(name, { cacheControl: false });
  });
}

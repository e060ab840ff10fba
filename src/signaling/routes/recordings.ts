import { createReadStream } from "node:fs";
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { publicRecording } from "../../recordings/publicView.ts";
import { RECORDING_ID_PATTERN, type RecordingStore } from "../../recordings/store.ts";

const contentTypes = { webm: "video/webm", mkv: "video/x-matroska", mp4: "video/mp4" } as const;

const Recording = Type.Object({
  id: Type.String(), sessionId: Type.String(), streamId: Type.String(), file: Type.String(),
  container: Type.String(), state: Type.String(), startedAt: Type.String(),
  endedAt: Type.Optional(Type.String()), durationMs: Type.Optional(Type.Number()), sizeBytes: Type.Optional(Type.Number()),
  frames: Type.Optional(Type.Number()), error: Type.Optional(Type.String()),
  tracks: Type.Array(Type.Object({ kind: Type.String(), codec: Type.String() })),
}, { additionalProperties: true });
const Params = Type.Object({ id: Type.String({ pattern: RECORDING_ID_PATTERN }) });
const ErrorReply = Type.Object({ code: Type.String(), message: Type.String() });

/**
 * Parses a single `bytes=` range (RFC 9110 §14.1.2); undefined when absent or ignored, null when unsatisfiable.
 * A multi-range request or another unit is ignored (the whole file is served), as RFC 9110 §14.2 allows and common
 * servers do: clients that send one (players probing) get a usable answer instead of a 416.
 */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | undefined | null {
  if (!header) return undefined;
  if (!/^bytes=/i.test(header.trim()) || header.includes(",")) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/i.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return null;
  let start: number;
  let end: number;
  if (m[1] === "") {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  return start <= end && start < size ? { start, end } : null;
}

/** The recordings API: list (paged, filtered), metadata, download with Range, delete. */
export async function recordingsRoute(app: FastifyInstance, { store }: { store: RecordingStore }): Promise<void> {
  const notFound = (id: string) => ({ code: "not_found", message: `no recording ${id}` });

  app.get("/recordings", {
    schema: {
      summary: "List recordings, newest first",
      querystring: Type.Object({
        sessionId: Type.Optional(Type.String({ maxLength: 64 })), streamId: Type.Optional(Type.String({ maxLength: 256 })),
        callId: Type.Optional(Type.String({ maxLength: 64 })),
        state: Type.Optional(Type.Union(["recording", "finished", "failed", "interrupted"].map((s) => Type.Literal(s)))),
        offset: Type.Integer({ minimum: 0, default: 0 }), limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
      }),
      response: { 200: Type.Object({ items: Type.Array(Recording), total: Type.Integer(), offset: Type.Integer(), limit: Type.Integer() }) },
    },
  }, async (request) => {
    const q = request.query as { sessionId?: string; streamId?: string; callId?: string; state?: "finished"; offset: number; limit: number };
    const { items, total } = store.list(q);
    return { items: items.map(publicRecording), total, offset: q.offset, limit: q.limit };
  });

  app.get("/recordings/:id", {
    schema: { summary: "A recording's metadata", params: Params, response: { 200: Recording, 404: ErrorReply } },
  }, async (request, reply) => {
    const { id } = request.params as { id: string };
    const meta = store.get(id);
    return meta ? publicRecording(meta) : reply.code(404).send(notFound(id));
  });

  app.get("/recordings/:id/file", {
    schema: { summary: "Download the media file (HTTP Range supported)", params: Params },
  }, async (request, reply) => {
    const { id } = request.params as { id: string };
    const meta = store.get(id);
    if (!meta) return reply.code(404).send(notFound(id));
    const file = store.mediaPath(id, meta.container);
    const size = await store.sizeOf(file);
    if (size === undefined) return reply.code(404).send(notFound(id));
    reply.header("accept-ranges", "bytes").type(contentTypes[meta.container]);
    reply.header("content-disposition", `inline; filename="${id}.${meta.container}"`);
    const range = parseRange(request.headers.range, size);
    if (range === null) return reply.code(416).type("application/json").header("content-range", `bytes */${size}`).send({ code: "bad_range", message: "range not satisfiable" });
    if (!range) return reply.header("content-length", size).send(createReadStream(file));
    return reply
      .code(206)
      .header("content-range", `bytes ${range.start}-${range.end}/${size}`)
      .header("content-length", range.end - range.start + 1)
      .send(createReadStream(file, range));
  });

  app.delete("/recordings/:id", {
    schema: { summary: "Delete a recording and its sidecar", params: Params, response: { 204: Type.Null(), 404: ErrorReply, 409: ErrorReply } },
  }, async (request, reply) => {
    const { id } = request.params as { id: string };
    const meta = store.get(id);
    if (!meta) return reply.code(404).send(notFound(id));
    if (meta.state === "recording") return reply.code(409).send({ code: "in_progress", message: "the recording is still in progress" });
    await store.delete(id);
    return reply.code(204).send();
  });
}

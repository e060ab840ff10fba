import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import type { CallRegistry } from "../../calls/callRegistry.ts";
import { RecbotError } from "../../util/errors.ts";
import { CALL_ID_PATTERN } from "../schemas/callMessages.ts";

const Params = Type.Object({ id: Type.String({ pattern: CALL_ID_PATTERN }) });
const ErrorReply = Type.Object({ code: Type.String(), message: Type.String() });

/** The call record: list, one call (participants, their recordings, the composite), and composing on request. */
export async function callsRoute(app: FastifyInstance, { calls }: { calls: CallRegistry }): Promise<void> {
  const notFound = (id: string) => ({ code: "not_found", message: `no call ${id}` });

  app.get("/calls", {
    schema: {
      summary: "Calls, newest first (live and ended)",
      querystring: Type.Object({ offset: Type.Integer({ minimum: 0, default: 0 }), limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }) }),
    },
  }, async (request) => {
    const { offset, limit } = request.query as { offset: number; limit: number };
    const all = calls.list();
    return {
      items: all.slice(offset, offset + limit).map((c) => {
        const v = c.view();
        return { ...v, participants: v.participants.map(({ recordings: _r, ...p }) => p) };
      }),
      total: all.length, offset, limit,
    };
  });

  app.get("/calls/:id", {
    schema: { summary: "A call: participants with join/leave times, their recordings, the composite", params: Params, response: { 404: ErrorReply } },
  }, async (request, reply) => {
    const { id } = request.params as { id: string };
    const call = calls.get(id);
    if (!call) return reply.code(404).send(notFound(id));
    return call.view(calls.recordingsOf(call));
  });

  app.post("/calls/:id/composite", {
    schema: { summary: "Compose the call into one file now (a live call: what was recorded so far)", params: Params, response: { 202: Type.Object({}, { additionalProperties: true }), 404: ErrorReply, 409: ErrorReply } },
  }, async (request, reply) => {
    const { id } = request.params as { id: string };
    const call = calls.get(id);
    if (!call) return reply.code(404).send(notFound(id));
    try {
      // The outcome is in the call's composite state, on its sockets and in the composite webhook.
      calls.compose(call).catch(() => {});
    } catch (err) {
      if (err instanceof RecbotError) return reply.code(409).send({ code: err.code, message: err.message });
      throw err;
    }
    return reply.code(202).send({ callId: call.id, instance: call.instance, composite: call.composite });
  });
}

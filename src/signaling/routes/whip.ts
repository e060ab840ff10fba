import { randomBytes } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Config } from "../../config/schema.ts";
import { clientIceServerUrls, iceServersFor } from "../../session/iceServers.ts";
import { publicRecording } from "../../recordings/publicView.ts";
import { MAX_REMOTE_CANDIDATES } from "../../session/candidateQueue.ts";
import { limitStatus } from "../../session/mediaBudget.ts";
import type { Session } from "../../session/session.ts";
import type { SessionRegistry } from "../../session/sessionRegistry.ts";
import type { CallRegistry } from "../../calls/callRegistry.ts";
import { InvalidSdpError, InvalidStateError, RecbotError, TooManySessionsError, UnsupportedCodecError, errorMessage } from "../../util/errors.ts";
import { iceServerLinks } from "../whip/linkHeader.ts";
import { SdpFragError, iceUfragOf, parseSdpFrag } from "../whip/sdpFrag.ts";

const SDP = "application/sdp";
const SDP_FRAG = "application/trickle-ice-sdpfrag";

/** What the WHIP edge keeps per session beside the PeerSession itself. */
interface WhipResource {
  session: Session;
  etag: string;
  remoteUfrag: string | undefined;
}

/** Seconds a WHIP client refused at the session limit is told to wait (RFC 9725 §4.2: 503 + Retry-After). */
const RETRY_AFTER_SECONDS = 5;

const newEtag = () => `"${randomBytes(9).toString("base64url")}"`;
const mediaType = (request: FastifyRequest) => (request.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();

/** Checked before the body is parsed, so a JSON or text body with the wrong type gets 415, not a parse error. */
const requireType = (type: string, what: string) => async (request: FastifyRequest, reply: FastifyReply) => {
  if (mediaType(request) !== type) return fail(reply, 415, "unsupported_media_type", `${what} takes ${type}`);
};

function fail(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply.code(status).type("application/json").send({ code, message });
}

/**
 * WHIP (RFC 9725): `POST /whip` creates a session from an SDP offer; the session resource at
 * `/whip/:id` takes trickle ICE (`PATCH`) and ends with `DELETE`, which finalizes the recording.
 * `?mode=echo` makes recbot send each track back. ICE restarts are refused with 422 (see docs/whip.md).
 */
export async function whipRoute(app: FastifyInstance, { registry, config, calls }: { registry: SessionRegistry; config: Config; calls?: CallRegistry }): Promise<void> {
  const resources = new Map<string, WhipResource>();

  // CORS (allowed origins, exposed Location/ETag/Link) comes from `corsOrigins` through @fastify/cors in app.ts,
  // the same for WHIP as for every route: no origin is allowed unless configured.
  app.addContentTypeParser([SDP, SDP_FRAG], { parseAs: "string" }, (_request, body, done) => done(null, body));

  app.options("/whip", async (_request, reply) => {
    reply.code(204).headers({
      "accept-post": SDP,
      "access-control-allow-methods": "POST, OPTIONS",
      "access-control-allow-headers": "Authorization, Content-Type, If-Match",
      "access-control-max-age": "600",
    });
  });

  app.post<{ Querystring: { mode?: string; callId?: string; participantId?: string } }>("/whip", { onRequest: requireType(SDP, "POST /whip") }, async (request, reply) => {
    const mode = request.query.mode ?? "record";
    if (mode !== "record" && mode !== "echo") return fail(reply, 400, "bad_mode", `mode must be "record" or "echo", not ${JSON.stringify(mode.slice(0, 32))}`);
    const offer = typeof request.body === "string" ? request.body : "";
    // A call participant publishing over WHIP (?callId=…&participantId=… from its `joined` message).
    const member = calls?.participantFor(request.query.callId, request.query.participantId);
    if (member && "code" in member) return fail(reply, member.status, member.code, member.message);

    let session: Session;
    try {
      session = registry.create(); // the one session limit, shared with /ws
    } catch (err) {
      if (!(err instanceof TooManySessionsError)) throw err;
      reply.header("retry-after", String(RETRY_AFTER_SECONDS));
      return fail(reply, 503, err.code, err.message);
    }
    if (member) calls!.attach(member.call, member.participant, session);
    let answer: string;
    try {
      answer = await session.acceptOffer(offer, { echo: mode === "echo" });
    } catch (err) {
      await session.close("offer_failed");
      if (err instanceof InvalidSdpError || err instanceof UnsupportedCodecError || (err instanceof RecbotError && err.code === "too_many_candidates")) {
        return fail(reply, 400, err.code, err.message);
      }
      const limited = err instanceof RecbotError ? limitStatus(err.code) : undefined;
      if (limited === 503) reply.header("retry-after", String(RETRY_AFTER_SECONDS));
      if (limited) return fail(reply, limited, (err as RecbotError).code, (err as RecbotError).message);
      if (err instanceof RecbotError) return fail(reply, 500, err.code, err.message);
      session.log.error({ err }, "WHIP offer failed");
      return fail(reply, 500, "internal", errorMessage(err));
    }
    const resource: WhipResource = { session, etag: newEtag(), remoteUfrag: iceUfragOf(offer) };
    resources.set(session.id, resource);
    // WHIP has no socket that closes when the client goes away: the session's connect timer
    // (connectTimeoutSeconds) and peer timeout end sessions whose client never connects or vanishes.
    session.once("closed", () => resources.delete(session.id));
    session.log.info({ mode }, "WHIP session created");

    const location = `${request.url.split("?")[0].replace(/\/$/, "")}/${session.id}`;
    // What clients use (like GET /ice-servers), never recbot's own list, which may name internal addresses.
    const links = iceServerLinks(iceServersFor(config, session.id, clientIceServerUrls(config)));
    reply.code(201).type(SDP).headers({ location, etag: resource.etag });
    if (links.length) reply.header("link", links);
    return answer;
  });

  app.options("/whip/:id", async (_request, reply) => {
    reply.code(204).headers({
      "accept-patch": SDP_FRAG,
      "access-control-allow-methods": "PATCH, DELETE, OPTIONS",
      "access-control-allow-headers": "Authorization, Content-Type, If-Match",
      "access-control-max-age": "600",
    });
  });

  app.patch<{ Params: { id: string } }>("/whip/:id", { onRequest: requireType(SDP_FRAG, "PATCH") }, async (request, reply) => {
    const resource = resources.get(request.params.id);
    if (!resource) return fail(reply, 404, "no_session", "no such WHIP session");
    const ifMatch = request.headers["if-match"];
    const restart = "ICE restarts are not supported: recbot's ICE agent (werift) cannot restart as the answerer; start a new session";
    if (ifMatch === "*") return fail(reply, 422, "ice_restart_unsupported", restart);
    // RFC 9725 has clients send If-Match with trickle; a stale one is refused, a missing one tolerated.
    if (ifMatch !== undefined && ifMatch !== resource.etag) return fail(reply, 412, "etag_mismatch", "If-Match does not match the session's ETag");

    let frag;
    try {
      frag = parseSdpFrag(typeof request.body === "string" ? request.body : "");
    } catch (err) {
      if (err instanceof SdpFragError) return fail(reply, 400, "bad_sdpfrag", err.message);
      throw err;
    }
    if (frag.ufrag !== undefined && frag.ufrag !== resource.remoteUfrag) {
      if (frag.pwd !== undefined) return fail(reply, 422, "ice_restart_unsupported", restart);
      return fail(reply, 400, "ufrag_mismatch", "the fragment's ice-ufrag does not belong to this session");
    }
    // Refused whole before any is applied: werift pairs each candidate, and thousands stall the event loop.
    if (frag.candidates.length > MAX_REMOTE_CANDIDATES) {
      return fail(reply, 400, "too_many_candidates", `more than ${MAX_REMOTE_CANDIDATES} candidates in one fragment (a session takes ${MAX_REMOTE_CANDIDATES} in all)`);
    }
    try {
      for (const candidate of frag.candidates) await resource.session.addCandidate(candidate);
    } catch (err) {
      if (err instanceof InvalidStateError) return fail(reply, 404, "no_session", "the session has ended");
      if (err instanceof RecbotError && err.code === "too_many_candidates") return fail(reply, 400, err.code, err.message);
      return fail(reply, 400, "bad_candidate", errorMessage(err));
    }
    reply.code(204).send();
  });

  app.delete<{ Params: { id: string } }>("/whip/:id", async (request, reply) => {
    const resource = resources.get(request.params.id);
    if (!resource) return fail(reply, 404, "no_session", "no such WHIP session");
    resources.delete(request.params.id);
    await resource.session.close("whip_delete");
    return reply.code(200).send({ sessionId: resource.session.id, recordings: resource.session.recordings.map(publicRecording) });
  });
}

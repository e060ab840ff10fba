import { randomUUID } from "node:crypto";
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import type { Config } from "../../config/schema.ts";
import { clientIceServerUrls, iceServersFor } from "../../session/iceServers.ts";

export const IceServerSchema = Type.Object({
  urls: Type.Union([Type.String(), Type.Array(Type.String())]),
  username: Type.Optional(Type.String()),
  credential: Type.Optional(Type.String()),
});

/**
 * `GET /ice-servers`: an `RTCIceServer[]` for `new RTCPeerConnection({ iceServers })`. TURN entries
 * carry ephemeral credentials derived from the shared secret; the secret itself never leaves the server.
 */
export async function iceServersRoute(app: FastifyInstance, { config }: { config: Config }): Promise<void> {
  app.get(
    "/ice-servers",
    { schema: { response: { 200: Type.Array(IceServerSchema) } } },
    async (_request, reply) => {
      // Credentials expire; a cached copy would hand out stale ones.
      reply.header("cache-control", "no-store");
      return iceServersFor(config, randomUUID(), clientIceServerUrls(config));
    },
  );
}

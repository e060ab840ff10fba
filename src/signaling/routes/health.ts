import type { FastifyInstance } from "fastify";
import type { SessionRegistry } from "../../session/sessionRegistry.ts";

export async function healthRoute(app: FastifyInstance, { registry }: { registry: SessionRegistry }): Promise<void> {
  app.get("/healthz", async () => ({ status: "ok", sessions: registry.size }));
}

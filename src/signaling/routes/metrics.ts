import type { FastifyInstance } from "fastify";
import type { Registry } from "prom-client";

export async function metricsRoute(app: FastifyInstance, { metrics }: { metrics: Registry }): Promise<void> {
  app.get("/metrics", async (_request, reply) => {
    reply.type(metrics.contentType);
    return metrics.metrics();
  });
}

import cors from "@fastify/cors";
import rateLimit from "@fastify/rate-limit";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import websocket from "@fastify/websocket";
import path from "node:path";
import Fastify, { type FastifyInstance, type FastifyPluginAsync } from "fastify";
import type { Config } from "../config/schema.ts";
import { createMetrics } from "../metrics/recbotMetrics.ts";
import { publicRecording } from "../recordings/publicView.ts";
import { RecordingStore } from "../recordings/store.ts";
import { WebhookNotifier } from "../recordings/webhooks.ts";
import { SessionRegistry } from "../session/sessionRegistry.ts";
import { REDACTED, redact, redactedPaths, redactingSerializers } from "../util/redact.ts";
import { CallRegistry } from "../calls/callRegistry.ts";
import { callsRoute } from "./routes/calls.ts";
import { requireToken } from "./auth.ts";
import { healthRoute } from "./routes/health.ts";
import { iceServersRoute } from "./routes/iceServers.ts";
import { metricsRoute } from "./routes/metrics.ts";
import { recordingsRoute } from "./routes/recordings.ts";
import { staticRoute } from "./routes/static.ts";
import { whipRoute } from "./routes/whip.ts";
import { wsRoute } from "./routes/ws.ts";

/** How often sidecars that could not be written (disk full) are tried again. */
const SIDECAR_RETRY_MS = 5000;
/** Undelivered webhook events, one file each, inside the recordings directory (hidden: not a recording). */
const WEBHOOK_OUTBOX = ".webhook-outbox";

export interface RecbotPluginOptions {
  config: Config;
}

/**
 * recbot as a Fastify plugin: mount it in your own server (with a prefix if you like).
 * Plugin order: limits and CORS first, then open routes (health, metrics, docs), then the routes
 * that need a token. Sessions are finalized when the server closes.
 */
export const recbotPlugin: FastifyPluginAsync<RecbotPluginOptions> = async (app, { config }) => {
  const store = new RecordingStore(config.recordingsDir);
  const recovered = await store.rebuildIndex();
  if (recovered.interrupted) app.log.warn(recovered, "recordings left open by a crash marked interrupted");
  if (recovered.emptyOrphansRemoved || recovered.orphans) app.log.warn(recovered, "media files without a sidecar found (empty ones removed)");
  if (recovered.unsaved) {
    app.log.error(recovered, "sidecars could not be rewritten (disk full?): the API reports the truth, the files are retried every few seconds");
  }
  store.retryUnsaved(SIDECAR_RETRY_MS, (saved, left) => app.log.info({ saved, left }, "unsaved sidecars written"));
  const registry = new SessionRegistry({ config, store, log: app.log, codecPreference: config.codecs });
  await registry.ready();
  const calls = new CallRegistry({ config, store, log: app.log });

  await app.register(rateLimit, { max: config.rateLimitPerMinute, timeWindow: 60_000 });
  if (config.corsOrigins.length) {
    await app.register(cors, { origin: config.corsOrigins.includes("*") ? true : config.corsOrigins, exposedHeaders: ["Location", "ETag", "Link", "Accept-Post", "Accept-Patch", "Retry-After"] });
  }
  await app.register(swagger, { openapi: { info: { title: "recbot", version: "0.1.0" } } });
  await app.register(swaggerUi, { routePrefix: "/docs" });
  // Before @fastify/websocket's own preClose (hooks run in the order added), which closes every socket bare:
  // finalize the sessions first, so each client gets its `recording` `finished` messages, then an `error`
  // naming why (`server_closing`) and close 4001, as for any other end of a session.
  app.addHook("preClose", async () => {
    await registry.closeAll("server_closing");
  });
  await app.register(websocket, { options: { maxPayload: config.maxMessageBytes } });

  await app.register(healthRoute, { registry });
  await app.register(metricsRoute, { metrics: createMetrics(registry) });
  await app.register(staticRoute); // the demo page (open; the API calls it makes carry a token when auth is on)
  await app.register(async (guarded) => {
    guarded.addHook("onRequest", requireToken(config));
    await guarded.register(wsRoute, { registry, config, calls });
    await guarded.register(callsRoute, { calls });
    await guarded.register(iceServersRoute, { config });
    await guarded.register(recordingsRoute, { store });
    await guarded.register(whipRoute, { registry, config, calls });
  });

  const webhooks = config.webhookUrl
    ? new WebhookNotifier({ url: config.webhookUrl, secret: config.webhookSecret, log: app.log, outboxDir: path.join(store.dir, WEBHOOK_OUTBOX) })
    : undefined;
  if (webhooks) {
    registry.on("recording", (e, meta) => webhooks.notify(e.state, publicRecording(meta)));
    calls.on("finished", (call) => webhooks.post("call.finished", { call: call.view(calls.recordingsOf(call).map(publicRecording)) }));
    calls.on("composite", (call) => webhooks.post(`composite.${call.composite.state}`, { call: call.view(calls.recordingsOf(call).map(publicRecording)) }));
    await webhooks.resume(); // what the last run could not deliver
  }
  app.addHook("onClose", async () => {
    await calls.close(); // stops a running composite (marked failed): shutdown does not wait for a long encode
    store.close();
    await registry.close("server_closing"); // finalizes every session, then stops session workers
    await webhooks?.close(); // after the sessions, so their "finished" events go out
  });
};

/** A Fastify instance with recbot mounted at the root, not yet listening. */
export async function buildApp(config: Config): Promise<FastifyInstance> {
  // Request URLs carry `?access_token=` (WebSocket, <video src>): the serializers redact it, and errors' text.
  const logger = { level: config.logLevel, serializers: redactingSerializers, redact: { paths: [...redactedPaths], censor: REDACTED } };
  const app = Fastify({ logger, bodyLimit: config.maxMessageBytes });
  // Fastify's own 404 logs and answers the raw URL, token and all.
  app.setNotFoundHandler((request, reply) => {
    const route = `${request.method} ${redact(request.url)}`;
    request.log.info({ route }, "no such route");
    return reply.code(404).send({ code: "not_found", message: `no route ${route}` });
  });
  await app.register(recbotPlugin, { config });
  return app;
}

import websocket from "@fastify/websocket";
import Fastify, { type FastifyInstance, type FastifyPluginAsync } from "fastify";
import type { Config } from "../config/schema.ts";
import type { CodecName } from "../media/types.ts";
import { RecordingStore } from "../recordings/store.ts";
import { SessionRegistry } from "../session/sessionRegistry.ts";
import { healthRoute } from "./routes/health.ts";
import { whipRoute } from "./routes/whip.ts";
import { wsRoute } from "./routes/ws.ts";

export interface RecbotPluginOptions {
  config: Config;
}

const CODEC_PREFERENCE: readonly CodecName[] = ["vp8", "opus"];

/**
 * recbot as a Fastify plugin: mount it in your own server (with a prefix if you like).
 * Sessions are finalized when the server closes.
 */
export const recbotPlugin: FastifyPluginAsync<RecbotPluginOptions> = async (app, { config }) => {
  const store = new RecordingStore(config.recordingsDir);
  const registry = new SessionRegistry({ config, store, log: app.log, codecPreference: CODEC_PREFERENCE });

  await app.register(websocket, { options: { maxPayload: config.maxMessageBytes } });
  await app.register(healthRoute, { registry });
  await app.register(wsRoute, { registry });
  await app.register(whipRoute, { registry, config });

  app.addHook("onClose", async () => {
    await registry.closeAll("server_closing");
  });
};

/** A Fastify instance with recbot mounted at the root, not yet listening. */
export async function buildApp(config: Config): Promise<FastifyInstance> {
  const app = Fastify({ logger: { level: config.logLevel }, bodyLimit: config.maxMessageBytes });
  await app.register(recbotPlugin, { config });
  return app;
}

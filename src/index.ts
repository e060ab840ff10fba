import type { FastifyInstance } from "fastify";
import { loadConfig, resolveConfig } from "./config/loadConfig.ts";
import type { Config } from "./config/schema.ts";
import { buildApp, recbotPlugin } from "./signaling/app.ts";

export interface Recbot {
  app: FastifyInstance;
  config: Config;
  /** Starts listening; resolves to the base URL (http://host:port). */
  listen(): Promise<string>;
  /** Finalizes every recording and stops the server. */
  close(): Promise<void>;
}

/** Builds recbot from a (partial) config object; options not given take their defaults. */
export async function createRecbot(config: Partial<Config> | Config = {}): Promise<Recbot> {
  const resolved = resolveConfig(config);
  const app = await buildApp(resolved);
  return {
    app,
    config: resolved,
    async listen() {
      await app.listen({ host: resolved.host, port: resolved.port });
      const address = app.server.address();
      const port = typeof address === "object" && address ? address.port : resolved.port;
      const host = resolved.host === "0.0.0.0" || resolved.host === "::" ? "127.0.0.1" : resolved.host;
      return `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
    },
    close: () => app.close(),
  };
}

export { buildApp, recbotPlugin, loadConfig, resolveConfig };
export type { Config };

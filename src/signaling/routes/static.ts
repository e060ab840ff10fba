import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance } from "fastify";

/** The demo page and its browser client (public/), served as-is: no build step. */
export const publicDir = fileURLToPath(new URL("../../../public/", import.meta.url));

export async function staticRoute(app: FastifyInstance): Promise<void> {
  await app.register(fastifyStatic, { root: publicDir, prefix: "/", index: ["index.html"], cacheControl: false });
}

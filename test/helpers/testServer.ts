import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach } from "vitest";
import { createRecbot, type Config, type Recbot } from "../../src/index.ts";

/** Log level for tests that show recbot's warnings: RECBOT_TEST_LOG=info (or debug) shows more. */
export const TEST_LOG = (process.env.RECBOT_TEST_LOG as Config["logLevel"] | undefined) ?? "warn";

export interface TestServer {
  recbot: Recbot;
  /** http://127.0.0.1:port */
  base: string;
  /** The WebSocket signaling URL, ws://127.0.0.1:port/ws */
  ws: string;
  /** The recordings directory. */
  dir: string;
}

/**
 * A recbot for a test: 127.0.0.1 on a free port, ICE on loopback only (docs/lab.md), silent logs, recording into a
 * new temporary directory named after `tag` — each of these unless `config` says otherwise.
 */
export async function startTestServer(tag: string, config: Partial<Config> = {}): Promise<TestServer> {
  const dir = config.recordingsDir ?? mkdtempSync(path.join(tmpdir(), `recbot-${tag}-`));
  const recbot = await createRecbot({ host: "127.0.0.1", port: 0, recordingsDir: dir, iceAddresses: ["127.0.0.1"], logLevel: "silent", ...config });
  const base = await recbot.listen();
  return { recbot, base, ws: base.replace("http", "ws") + "/ws", dir };
}

interface Closable {
  close(): unknown;
}

export interface ServerGroup {
  /** Starts a recbot: startTestServer with the group's defaults, then `config`. */
  start(config?: Partial<Config>): Promise<TestServer>;
  /** Hands `thing` (a peer, a client) to the group to close; returns it. */
  closeAfter<T extends Closable>(thing: T): T;
  /** Closes what the group started or was given, newest first (a peer before the recbot it talks to). */
  close(): Promise<void>;
}

/** Recbots started with shared defaults (e.g. one recordings directory) and closed together. */
export function serverGroup(tag: string, defaults: Partial<Config> = {}): ServerGroup {
  const open: Closable[] = [];
  const closeAfter = <T extends Closable>(thing: T): T => {
    open.push(thing);
    return thing;
  };
  return {
    start: async (config = {}) => {
      const server = await startTestServer(tag, { ...defaults, ...config });
      closeAfter(server.recbot);
      return server;
    },
    closeAfter,
    close: async () => {
      for (const thing of open.splice(0).reverse()) await thing.close();
    },
  };
}

/** A recbot per test: a serverGroup closed after each test. */
export function serverPerTest(tag: string, defaults: Partial<Config> = {}): ServerGroup {
  const group = serverGroup(tag, defaults);
  afterEach(group.close);
  return group;
}

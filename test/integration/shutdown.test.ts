import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { makeClip } from "../../src/testkit/clip.ts";
import { decodeErrors, probe } from "../../src/testkit/probe.ts";
import { publish } from "../../src/testkit/publisher.ts";
import { startRecbotProcess, type RecbotProcess } from "../helpers/recbotProcess.ts";
import { WsClient } from "../../src/testkit/wsClient.ts";

/** Issue 16 #11: on SIGTERM every /ws client hears why, after its recordings' `finished`. */

let recbot: RecbotProcess | undefined;
afterEach(async () => {
  await recbot?.stop();
  recbot = undefined;
});

describe("SIGTERM with clients connected", () => {
  it("sends each client its recording `finished`, then an `error` server_closing and close 4001; the file is final", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "recbot-sigterm-"));
    recbot = await startRecbotProcess({ RECBOT_HOST: "127.0.0.1", RECBOT_PORT: "0", RECBOT_RECORDINGS_DIR: dir, RECBOT_ICE_ADDRESSES: "127.0.0.1" });
    const ws = recbot.url.replace("http", "ws") + "/ws";
    const clip = await makeClip({ seconds: 6 });

    // A socket that has not offered yet is a session too: it must hear why as well.
    const idle = new WsClient(ws);
    await idle.opened();

    const abort = new AbortController();
    let exited: Promise<number | null> | undefined;
    const result = await publish({
      url: ws, clip, signal: abort.signal,
      onSending: () => {
        setTimeout(() => {
          exited = recbot!.stop(); // SIGTERM, then waits for the exit
          void exited.then(() => abort.abort()); // the publisher stops sending once recbot is gone
        }, 2500);
      },
    });
    expect(await exited).toBe(0);
    const publisher = result.client;
    expect(await publisher.closed()).toBe(4001);
    expect(publisher.closeReason).toBe("server_closing");
    const told = publisher.messages.filter((m) => m.type === "recording" || m.type === "error").map((m) => `${m.type}:${m.state ?? m.code}`);
    expect(told).toEqual(["recording:started", "recording:finished", "error:server_closing"]);
    const finished = publisher.messages.find((m) => m.type === "recording" && m.state === "finished");
    const duration = Number((await probe(path.join(dir, finished.file))).format.duration);
    expect(duration).toBeGreaterThan(2);
    expect(await decodeErrors(path.join(dir, finished.file))).toBe("");

    for (const client of [idle]) {
      expect(await client.closed()).toBe(4001);
      expect(client.closeReason).toBe("server_closing");
      expect(client.messages.at(-1)).toMatchObject({ type: "error", code: "server_closing" });
    }
  });
});

// Session set-up steps wait for their turn (src/session/setupTurns.ts): a session whose client leaves while its
// offer waits must not be built afterwards, or its ICE sockets would outlive it.
import { mkdtempSync, readFileSync, readdirSync, readlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { setImmediate as nextTurn, setTimeout as sleep } from "node:timers/promises";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/config/loadConfig.ts";
import { RecordingStore } from "../../src/recordings/store.ts";
import { PeerSession } from "../../src/session/peerSession.ts";
import { offerFor } from "../../src/testkit/rawPeer.ts";
import { WsClient } from "../../src/testkit/wsClient.ts";
import { serverPerTest } from "../helpers/testServer.ts";

/** UDP sockets open in this process (recbot runs in it): ICE sockets that are not closed show here. */
function udpSockets(): number {
  const inodes = new Set<string>();
  for (const proto of ["udp", "udp6"]) {
    let text = "";
    try {
      text = readFileSync(`/proc/self/net/${proto}`, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const inode = line.trim().split(/\s+/)[9];
      if (inode) inodes.add(inode);
    }
  }
  let n = 0;
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode && inodes.has(inode)) n++;
    } catch {}
  }
  return n;
}

describe("session set-up turns", () => {
  const servers = serverPerTest("setup-turns");

  it("clients that leave while a burst of offers is being set up: every session ends, no ICE socket is left", async () => {
    const { base, ws } = await servers.start({ maxSessions: 100 });
    const sdp = await offerFor([{ kind: "audio", stream: "a" }, { kind: "video", stream: "a" }]);
    const sessions = async () => ((await (await fetch(`${base}/healthz`)).json()) as { sessions: number }).sessions;
    const baseline = udpSockets();

    // 30 WHIP offers in flight keep the set-up turns busy...
    const posts = Array.from({ length: 30 }, () =>
      fetch(`${base}/whip`, { method: "POST", body: sdp, headers: { "content-type": "application/sdp" } }));
    // ...while WebSocket clients offer, or ask recbot to offer (`call`: recbot gathers its ICE sockets), and leave at
    // once: their steps are still waiting when their sessions close.
    const leavers = await Promise.all(Array.from({ length: 20 }, async (_, i) => {
      const client = new WsClient(ws);
      await client.opened();
      client.send(i % 2 ? { type: "offer", sdp } : { type: "call" });
      client.close();
      return client;
    }));
    const replies = await Promise.all(posts);
    expect(replies.map((r) => r.status)).toEqual(replies.map(() => 201));
    await Promise.all(replies.map((r) => fetch(new URL(r.headers.get("location")!, base), { method: "DELETE" })));
    await Promise.all(leavers.map((c) => c.closed()));

    for (let i = 0; i < 100 && (await sessions()) > 0; i++) await sleep(100);
    expect(await sessions()).toBe(0);
    await sleep(200); // werift closes its sockets asynchronously
    expect(udpSockets()).toBe(baseline);
  });

  it("a session closed at any turn of its set-up (offer or call) finishes closing and leaves no ICE socket", async () => {
    const config = resolveConfig({ recordingsDir: mkdtempSync(path.join(tmpdir(), "recbot-setup-close-")), iceAddresses: ["127.0.0.1"], logLevel: "silent" });
    const deps = { config, store: new RecordingStore(config.recordingsDir), log: pino({ level: "silent" }), codecPreference: config.codecs };
    const sdp = await offerFor([{ kind: "audio", stream: "a" }, { kind: "video", stream: "a" }]);
    const baseline = udpSockets();
    const unfinished: string[] = [];
    // How many turns a whole set-up takes here; the close then lands on every turn of it, and once after it.
    const turnsOf = async (step: (s: PeerSession) => Promise<unknown>) => {
      const s = new PeerSession("count", deps);
      let done = false;
      const p = step(s).finally(() => (done = true));
      let turns = 0;
      while (!done) { await nextTurn(); turns++; }
      await p;
      await s.close();
      return turns;
    };
    for (const [name, step] of [["offer", (s: PeerSession) => s.acceptOffer(sdp)], ["call", (s: PeerSession) => s.createOffer()]] as const) {
      const turns = await turnsOf(step);
      // Within a turn too: after k microtasks, in the middle of werift's own awaits.
      const points = [...Array.from({ length: turns + 2 }, (_, k) => ({ k, wait: nextTurn, unit: "turns" })),
        ...Array.from({ length: 60 }, (_, k) => ({ k: k + 1, wait: () => Promise.resolve(), unit: "microtasks" }))];
      for (const { k, wait, unit } of points) {
        const s = new PeerSession(`${name}-${k}`, deps);
        const setUp = step(s).catch(() => undefined);
        for (let i = 0; i < k; i++) await wait();
        const closed = s.close("socket_closed").then(() => true);
        if (!(await Promise.race([closed, sleep(10_000).then(() => false)]))) unfinished.push(`${name} closed after ${k} ${unit}`);
        await setUp;
      }
    }
    expect(unfinished).toEqual([]);
    await sleep(200); // werift closes its sockets asynchronously
    expect(udpSockets()).toBe(baseline);
  });
});

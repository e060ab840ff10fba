import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRecbot, type Recbot } from "../../src/index.ts";
import { WsClient } from "../../src/testkit/wsClient.ts";

const TOKEN = "calls-test-token-0123456789";

describe("calls over /ws: join, events, relay, and bad input", () => {
  let recbot: Recbot;
  let base: string;
  let url: string;
  const open: WsClient[] = [];

  beforeAll(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "recbot-calls-"));
    recbot = await createRecbot({
      host: "127.0.0.1", port: 0, recordingsDir: dir, iceAddresses: ["127.0.0.1"], logLevel: "silent",
      authTokens: [TOKEN], callMaxParticipants: 3, connectTimeoutSeconds: 2,
      iceServers: ["stun:127.0.0.1:3478", "turn:127.0.0.1:3478"], turnSecret: "turn-secret-for-tests",
    });
    base = await recbot.listen();
    url = `${base.replace("http", "ws")}/ws?access_token=${TOKEN}`;
  });
  afterAll(async () => {
    for (const c of open) c.close();
    await recbot?.close();
  });

  async function client(): Promise<WsClient> {
    const c = new WsClient(url);
    open.push(c);
    await c.opened();
    return c;
  }

  async function join(callId: string, name: string): Promise<{ c: WsClient; joined: any }> {
    const c = await client();
    c.send({ type: "join", callId, name });
    const joined = await c.waitFor((m) => m.type === "joined" || m.type === "error");
    return { c, joined };
  }

  const get = (p: string, token: string | null = TOKEN) =>
    fetch(`${base}${p}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

  it("a join gets the participant id, who is there and ICE servers with TURN credentials; others hear of joins and leaves", async () => {
    const a = await join("room-1", "Alice");
    expect(a.joined.type).toBe("joined");
    expect(a.joined.participantId).toMatch(/^p_[0-9a-f]{16}$/);
    expect(a.joined.participants).toEqual([]);
    const turn = a.joined.iceServers.find((s: any) => String(s.urls).startsWith("turn:"));
    expect(turn.username).toBeTruthy();
    expect(turn.credential).toBeTruthy();

    const b = await join("room-1", "Bob");
    expect(b.joined.participants.map((p: any) => p.name)).toEqual(["Alice"]);
    const heard = await a.c.waitFor((m) => m.type === "participant-joined");
    expect(heard.participant).toMatchObject({ id: b.joined.participantId, name: "Bob" });

    // The relay: opaque data reaches the other participant with the sender's id.
    a.c.send({ type: "signal", to: b.joined.participantId, data: { type: "offer", sdp: "v=0 (opaque to recbot)" } });
    const relayed = await b.c.waitFor((m) => m.type === "signal");
    expect(relayed).toEqual({ type: "signal", from: a.joined.participantId, data: { type: "offer", sdp: "v=0 (opaque to recbot)" } });

    const call = await (await get("/calls/room-1")).json();
    expect(call.state).toBe("active");
    expect(call.participants.map((p: any) => p.name)).toEqual(["Alice", "Bob"]);

    b.c.send({ type: "leave" });
    const left = await a.c.waitFor((m) => m.type === "participant-left");
    expect(left).toMatchObject({ participantId: b.joined.participantId, reason: "left" });
    expect(await b.c.closed()).toBe(1000);
    a.c.close();
    await a.c.closed();
    const ended = await (await get("/calls/room-1")).json();
    expect(ended.state).toBe("ended");
    expect(ended.participants.every((p: any) => p.leftAt)).toBe(true);
  });

  it("GET /calls and /calls/:id need the same token as the recordings API", async () => {
    expect((await get("/calls", null)).status).toBe(401);
    expect((await get("/calls/room-1", "wrong-token-wrong-token")).status).toBe(403);
    const list = await (await get("/calls")).json();
    expect(list.items.some((c: any) => c.id === "room-1")).toBe(true);
    expect((await get("/calls/no-such-call")).status).toBe(404);
    expect((await get("/calls/bad%20id")).status).toBe(400);
  });

  it("signaling never crosses calls: a participant of another call is unknown", async () => {
    const a = await join("call-x", "A");
    const b = await join("call-y", "B");
    a.c.send({ type: "signal", to: b.joined.participantId, data: { type: "candidate" } });
    const e = await a.c.waitFor((m) => m.type === "error");
    expect(e.code).toBe("unknown_participant");
    await new Promise((r) => setTimeout(r, 200));
    expect(b.c.messages.some((m) => m.type === "signal")).toBe(false);
  });

  it.each([
    ["a call id with a slash", { type: "join", callId: "a/b", name: "x" }, "bad_message"],
    ["a call id of 65 characters", { type: "join", callId: "c".repeat(65), name: "x" }, "bad_message"],
    ["a name of 65 characters", { type: "join", callId: "ok", name: "n".repeat(65) }, "bad_message"],
    ["a blank name", { type: "join", callId: "ok", name: "   " }, "bad_message"],
    ["a name with a control character", { type: "join", callId: "ok", name: "a\u0007b" }, "bad_message"],
    ["a signal before joining", { type: "signal", to: "p_0123456789abcdef", data: {} }, "not_joined"],
    ["a signal whose target is not a participant id", { type: "signal", to: "../x", data: {} }, "bad_message"],
    ["a signal whose data is a string", { type: "signal", to: "p_0123456789abcdef", data: "offer" }, "bad_message"],
    ["a leave before joining", { type: "leave" }, "not_joined"],
  ])("%s → error %s", async (_name, message, code) => {
    const c = await client();
    c.send(message);
    const e = await c.waitFor((m) => m.type === "error");
    expect(e.code).toBe(code);
    expect(e.message.length).toBeGreaterThan(5);
  });

  it("an unknown participant, itself, an oversized signal and a second join are refused; the socket stays usable", async () => {
    const a = await join("call-z", "A");
    const b = await join("call-z", "B");
    const errors = async (message: object) => {
      const before = a.c.messages.length;
      a.c.send(message);
      return (await a.c.waitFor((m) => m.type === "error" && a.c.messages.indexOf(m) >= before)).code;
    };
    expect(await errors({ type: "signal", to: "p_0123456789abcdef", data: {} })).toBe("unknown_participant");
    expect(await errors({ type: "signal", to: a.joined.participantId, data: {} })).toBe("bad_target");
    expect(await errors({ type: "signal", to: b.joined.participantId, data: { sdp: "x".repeat(70_000) } })).toBe("signal_too_large");
    expect(await errors({ type: "join", callId: "other", name: "A" })).toBe("already_joined");
    a.c.send({ type: "signal", to: b.joined.participantId, data: { ok: true } });
    expect((await b.c.waitFor((m) => m.type === "signal")).data).toEqual({ ok: true });
  });

  it("a full call refuses one more participant (callMaxParticipants: 3)", async () => {
    for (const name of ["1", "2", "3"]) expect((await join("full", name)).joined.type).toBe("joined");
    const fourth = await join("full", "4");
    expect(fourth.joined).toMatchObject({ type: "error", code: "call_full" });
  });

  it("a participant that never publishes stays in the call past the connect timeout; its call ends without media", async () => {
    const a = await join("silent", "Quiet");
    await new Promise((r) => setTimeout(r, 2600)); // connectTimeoutSeconds: 2
    expect(a.c.socket.readyState).toBe(a.c.socket.OPEN);
    const call = await (await get("/calls/silent")).json();
    expect(call.participants[0].leftAt).toBeUndefined();
    a.c.close();
    await a.c.closed();
    let ended: any;
    for (let i = 0; i < 50; i++) {
      ended = await (await get("/calls/silent")).json();
      if (ended.composite.state === "failed") break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(ended.participants[0].recordings).toEqual([]);
    expect(ended.composite).toMatchObject({ state: "failed", error: expect.stringContaining("no participant") });
  });

  it("WHIP with a call id needs a participant present in that call", async () => {
    const post = (q: string) => fetch(`${base}/whip?${q}`, { method: "POST", headers: { "content-type": "application/sdp", authorization: `Bearer ${TOKEN}` }, body: "v=0\r\n" });
    expect((await post("callId=nope&participantId=p_0123456789abcdef")).status).toBe(404);
    expect((await post("callId=nope")).status).toBe(400);
  });
});

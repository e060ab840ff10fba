import dgram from "node:dgram";
import { describe, expect, it } from "vitest";
import { drainPackets } from "./drain.ts";

describe("drainPackets", () => {
  it("ends at the first turn without a packet, and counts what came before", async () => {
    const arrivals = [3, 1, 0, 5]; // packets per turn: the third turn brings none
    let count = 0;
    let turns = 0;
    const drained = await drainPackets(() => count, { turn: async () => void (count += arrivals[turns++]) });
    expect(drained).toBe(4);
    expect(turns).toBe(3);
  });

  it("gives up after maxMs when packets keep coming", async () => {
    let count = 0;
    let clock = 0;
    const drained = await drainPackets(() => count, { maxMs: 100, now: () => clock, turn: async () => { count++; clock += 30; } });
    expect(clock).toBe(120);
    expect(drained).toBe(4);
  });

  it("reads what a real socket had queued before it returns (one turn of libuv's poll per check)", async () => {
    const receiver = dgram.createSocket("udp4");
    const sender = dgram.createSocket("udp4");
    await new Promise<void>((r) => receiver.bind(0, "127.0.0.1", r));
    let count = 0;
    // Queue datagrams before anyone reads them, as on a busy server: more than libuv reads per socket and turn (32),
    // few and small enough for the default receive buffer.
    const { port } = receiver.address();
    await Promise.all(Array.from({ length: 100 }, () => new Promise((r) => sender.send(Buffer.alloc(100), port, "127.0.0.1", r))));
    receiver.on("message", () => count++);
    const drained = await drainPackets(() => count);
    expect(drained).toBe(100);
    receiver.close();
    sender.close();
  });
});

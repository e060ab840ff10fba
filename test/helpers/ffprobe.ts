// ffprobe helpers live in src/loopback (the `recbot loopback` command verifies recordings with them too).
export * from "../../src/loopback/probe.ts";

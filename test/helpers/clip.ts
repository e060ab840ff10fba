// The clip generator lives in src/loopback (the `recbot loopback` command uses it too).
export * from "../../src/loopback/testSignal.ts";

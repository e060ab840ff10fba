import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./loadConfig.ts";

describe("the codecs option", () => {
  it("defaults to every codec recbot records, VP8 and Opus first", () => {
    expect(loadConfig({}, []).codecs).toEqual(["vp8", "vp9", "h264", "av1", "opus", "pcmu", "pcma"]);
  });
  it("takes a preference order from env and CLI (CLI wins)", () => {
    expect(loadConfig({ RECBOT_CODECS: "h264,pcma" }, []).codecs).toEqual(["h264", "pcma"]);
    expect(loadConfig({ RECBOT_CODECS: "h264,pcma" }, ["--codecs", "av1, opus"]).codecs).toEqual(["av1", "opus"]);
  });
  it("rejects unknown or repeated codecs", () => {
    expect(() => loadConfig({ RECBOT_CODECS: "vp8,h265" }, [])).toThrow(ConfigError);
    expect(() => loadConfig({ RECBOT_CODECS: "vp8,vp8" }, [])).toThrow(ConfigError);
  });
});

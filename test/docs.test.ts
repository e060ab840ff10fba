import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { options } from "../src/config/loadConfig.ts";

describe("README", () => {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  it.each(Object.entries(options))("documents the %s option with its env var and flag", (name, [env, flag]) => {
    const row = readme.split("\n").find((l) => l.startsWith(`| ${name} |`));
    expect(row, `README config table has no row for ${name}`).toBeDefined();
    expect(row).toContain(`\`${env}\``);
    expect(row).toContain(`\`--${flag}\``);
  });
  it("shows the two commands", () => {
    expect(readme).toContain("npm ci && npm start");
    expect(readme).toContain("npm test");
  });
});

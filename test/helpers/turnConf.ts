import { readFileSync } from "node:fs";

/** coturn's config file format: `option` or `option=value` per line, `#` comments; options may repeat. */
export function readTurnConf(file: string): Map<string, string[]> {
  const options = new Map<string, string[]>();
  for (const raw of readFileSync(file, "utf8").split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    const [key, value] = eq < 0 ? [line, ""] : [line.slice(0, eq).trim(), line.slice(eq + 1).trim()];
    options.set(key, [...(options.get(key) ?? []), value]);
  }
  return options;
}

/** IPv4 dotted quad → 32-bit number. */
export function ipv4ToInt(ip: string): number {
  return ip.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);
}

/** Whether an IPv4 address falls in one of coturn's `a.b.c.d-e.f.g.h` ranges (or single addresses). */
export function inRanges(ip: string, ranges: readonly string[]): boolean {
  const n = ipv4ToInt(ip);
  return ranges.some((r) => {
    const [lo, hi = lo] = r.split("-");
    if (!/^\d+\.\d+\.\d+\.\d+$/.test(lo)) return false;
    return n >= ipv4ToInt(lo) && n <= ipv4ToInt(hi);
  });
}

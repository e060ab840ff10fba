import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "./usage.ts";

/**
 * node:util parseArgs (strict), with its errors turned into a one-line UsageError naming the flag
 * (parseArgs throws a TypeError whose message also explains `--` separators).
 */
export function parseFlags<T extends ParseArgsConfig["options"]>(command: string, usage: string, args: string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals });
  } catch (err) {
    if (!String((err as { code?: string }).code).startsWith("ERR_PARSE_ARGS_")) throw err;
    throw new UsageError(`recbot ${command}: ${describe(err as Error)}`, usage);
  }
}

function describe(err: Error & { code?: string }): string {
  const flag = /'([^']+)'/.exec(err.message)?.[1];
  if (err.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") return `unknown option ${flag}`;
  if (err.code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") return `unexpected argument ${flag}`;
  if (flag && err.message.endsWith("argument missing")) return `option ${flag.split(" ")[0]} needs a value`;
  return err.message.split(". ")[0];
}

/** Whether the arguments ask for help (before anything else is parsed, so `--help` works next to any mistake). */
export const wantsHelp = (args: string[]) => args.includes("--help") || args.includes("-h");

// The repo root at run time, for files tsc does not copy (greeter.proto) and
// for RESULTS.md: walk up from this file (in .bench-build/bench/ when compiled)
// to the package.json of micro-ts, whatever the build layout.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, "utf8")) as { name?: string }).name === "micro-ts") return dir;
    if (dirname(dir) === dir) throw new Error(`no micro-ts package.json above ${from}`);
  }
}

export const ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));
/** The compiled bench scripts (run.js runs from here). */
export const BUILD = dirname(fileURLToPath(import.meta.url));

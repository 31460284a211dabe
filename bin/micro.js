#!/usr/bin/env node
// The micro command. Runs the compiled dist/ when it is there (fast start);
// in a checkout that was not built yet it runs the TypeScript source via tsx.
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const dist = `${root}dist/cmd/micro.js`;
let mod;
if (existsSync(dist)) {
  mod = await import(pathToFileURL(dist).href);
} else {
  const { tsImport } = await import("tsx/esm/api");
  mod = await tsImport(`${root}src/cmd/micro.ts`, import.meta.url);
}
const code = await mod.main(process.argv.slice(2));
process.exit(code);

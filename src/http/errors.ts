// Answers of the HTTP front doors (micro api, micro web) on node:http: every
// error is a go-micro error JSON with the HTTP status of its code, as upstream
// writes them (the answers themselves are built in exchange.ts).
import type { ServerResponse } from "node:http";
import type { MicroError } from "../errors/errors.js";
import { errorAnswer, jsonAnswer, writeAnswer } from "./exchange.js";

/** Writes err as JSON; code 0 (a plain error text) becomes 500 "error during request: …", as upstream. */
export function writeError(res: ServerResponse, err: MicroError, id = "go.micro.api"): void {
  writeAnswer(res, errorAnswer(err, id));
}

export function writeJSON(res: ServerResponse, status: number, value: unknown): void {
  writeAnswer(res, jsonAnswer(status, value));
}

// What every api handler gets: the client, and where a request is going
// (service, method, fields captured from a custom route's path).
import type { Client } from "../../client/client.js";

export const API_ID = "go.micro.api";

export interface HandlerContext {
  client: Client;
}

export interface Target {
  service: string;
  method: string;
  fields: Record<string, string>;
}

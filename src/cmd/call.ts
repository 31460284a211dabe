// micro call | health | stats
import { bounded, type Runtime } from "./runtime.js";
import { goDuration, goStamp, indentJSON } from "./format.js";
import { MicroError } from "../errors/errors.js";

export interface CallFlags {
  address?: string;
  output?: string;
  metadata?: string[];
}

/** key=value pairs; like upstream's string slices, a value may hold several, comma-separated. */
function metadataOf(pairs: string[] | undefined): Record<string, string> {
  const md: Record<string, string> = {};
  for (const p of (pairs ?? []).flatMap((v) => v.split(","))) {
    const eq = p.indexOf("=");
    if (eq > 0) md[p.slice(0, eq)] = p.slice(eq + 1);
  }
  return md;
}

export async function call(rt: Runtime, service: string, endpoint: string, requestParts: string[], flags: CallFlags): Promise<string> {
  const text = requestParts.join(" ").trim() || "{}";
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`invalid request JSON: ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("invalid request JSON: want an object such as '{\"name\": \"John\"}'");
  let rsp: Buffer;
  try {
    // The text goes out as typed, so numbers keep every digit.
    rsp = await rt.client.call<Buffer>(service, endpoint, Buffer.from(text), {
      contentType: "application/json",
      raw: true,
      address: flags.address || undefined,
      metadata: metadataOf(flags.metadata),
    });
  } catch (err) {
    throw new Error(`error calling ${service}.${endpoint}: ${err instanceof MicroError ? err.toString() : (err as Error).message}`);
  }
  if (flags.output === "raw") return rsp.toString("utf8");
  return indentJSON(rsp.toString("utf8"));
}

async function versionsOf(rt: Runtime, service: string) {
  const versions = await bounded(`registry ${rt.config.registry}`, 10_000, rt.registry.getService(service));
  if (versions.length === 0) throw new Error("Service not found");
  return versions;
}

export async function health(rt: Runtime, service: string, flags: CallFlags): Promise<string> {
  if (flags.address) {
    const rsp = await rt.client.call<{ status?: string }>(service, "Debug.Health", {}, { address: flags.address, retries: 0 });
    return rsp.status ?? "";
  }
  const versions = await versionsOf(rt, service);
  const out = [`service  ${versions[0]!.name}`];
  for (const v of versions) {
    out.push(`\nversion ${v.version}`, "\nnode\t\taddress:port\t\tstatus");
    const rows = await Promise.all((v.nodes ?? []).map(async (n) => {
      try {
        const rsp = await rt.client.call<{ status?: string }>(service, "Debug.Health", {}, { address: n.address, retries: 0 });
        return `${n.id}\t\t${n.address}\t\t${rsp.status ?? ""}`;
      } catch (err) {
        return `${n.id}\t\t${n.address}\t\t${String(err)}`;
      }
    }));
    out.push(...rows);
  }
  return out.join("\n");
}

interface Stats { started?: number; uptime?: number; memory?: number; threads?: number; gc?: number }

export async function stats(rt: Runtime, service: string): Promise<string> {
  const versions = await versionsOf(rt, service);
  const out = [`service  ${versions[0]!.name}`];
  for (const v of versions) {
    out.push(`\nversion ${v.version}`, "\nnode\t\taddress:port\t\tstarted\tuptime\tmemory\tthreads\tgc");
    const rows = await Promise.all((v.nodes ?? []).map(async (n) => {
      let s: Stats = {};
      let ok = true;
      try {
        s = await rt.client.call<Stats>(service, "Debug.Stats", {}, { address: n.address, retries: 0 });
      } catch {
        ok = false;
      }
      const started = ok ? goStamp(s.started ?? 0) : "";
      const uptime = ok ? goDuration((s.uptime ?? 0) * 1e9) : "";
      const memory = ok ? `${((s.memory ?? 0) / (1024 * 1024)).toFixed(2)}mb` : "";
      const gc = ok ? goDuration(s.gc ?? 0) : "";
      return `${n.id}\t\t${n.address}\t\t${started}\t${uptime}\t${memory}\t${s.threads ?? 0}\t${gc}`;
    }));
    out.push(...rows);
  }
  return out.join("\n");
}

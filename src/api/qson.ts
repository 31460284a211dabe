// Query strings as JSON the way upstream's rpc handler reads them (its qson):
// a[b]=1 nests, and a value that parses as JSON (numbers, true, "quoted") is
// taken as that value, anything else as a string.

const MAYBE_JSON = /^\s*(?:[-\d{["]|true\b|false\b|null\b)/;

export type JSONValue = string | number | boolean | null | JSONValue[] | { [k: string]: JSONValue };

export function queryToObject(query: string): Record<string, JSONValue> {
  const out: Record<string, JSONValue> = {};
  for (const [rawKey, rawValue] of new URLSearchParams(query)) {
    const path = keyPath(rawKey);
    if (path.length === 0) continue;
    let value: JSONValue = rawValue;
    // Only text that can be JSON is tried: a thrown parse per plain word was 8 % of the gateway's time.
    if (MAYBE_JSON.test(rawValue)) {
      try {
        value = JSON.parse(rawValue) as JSONValue;
      } catch {
        value = rawValue;
      }
    }
    let node = out;
    for (let i = 0; i < path.length - 1; i++) {
      const k = path[i]!;
      const next = node[k];
      if (!next || typeof next !== "object" || Array.isArray(next)) node[k] = {};
      node = node[k] as Record<string, JSONValue>;
    }
    node[path[path.length - 1]!] = value;
  }
  return out;
}

/** "a[b][c]" → ["a", "b", "c"]; prototype keys are refused. */
function keyPath(key: string): string[] {
  const m = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(key);
  const parts = m ? [m[1]!, ...[...m[2]!.matchAll(/\[([^[\]]*)\]/g)].map((x) => x[1]!)] : [key];
  return parts.some((p) => p === "__proto__" || p === "constructor" || p === "prototype" || p === "") ? [] : parts;
}

/** RFC 7396 JSON merge patch: objects merge key by key, null removes, anything else replaces. */
export function mergePatch(target: JSONValue, patch: JSONValue): JSONValue {
  if (!patch || typeof patch !== "object" || Array.isArray(patch)) return patch;
  const out: Record<string, JSONValue> = target && typeof target === "object" && !Array.isArray(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k === "__proto__") continue;
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k] ?? null, v);
  }
  return out;
}

import { test } from "node:test";
import assert from "node:assert/strict";
import { resolveConfig, fromArgs, fromEnv, ConfigError } from "./config.js";

test("defaults are upstream's effective values", () => {
  const c = resolveConfig({}, {}, []);
  assert.equal(c.registry, "local");
  assert.equal(c.registerTTL, 60_000);
  assert.equal(c.registerInterval, 30_000);
  assert.equal(c.clientRetries, 1);
  assert.equal(c.clientRequestTimeout, 5_000);
});

test("flags beat variables, variables beat code", () => {
  const c = resolveConfig(
    { registerTTL: 10_000, clientRetries: 5 },
    { MICRO_REGISTER_TTL: "30", MICRO_CLIENT_REQUEST_TIMEOUT: "2s", MICRO_SERVER_METADATA: "a=1,b=2" },
    ["--register_ttl=20", "--client_request_timeout", "750ms", "--server_metadata", "c=3"],
  );
  assert.equal(c.registerTTL, 20_000);
  assert.equal(c.clientRetries, 5);
  assert.equal(c.clientRequestTimeout, 750);
  assert.deepEqual(c.serverMetadata, { c: "3" });
  assert.deepEqual(fromEnv({ MICRO_SERVER_METADATA: "a=1,b=2" }).serverMetadata, { a: "1", b: "2" });
});

test("bad values and unknown flags are clear errors", () => {
  assert.throws(() => fromArgs(["--register_ttl=abc"]), (e: unknown) => e instanceof ConfigError && /--register_ttl/.test((e as Error).message));
  assert.throws(() => fromArgs(["--nope=1"]), (e: unknown) => e instanceof ConfigError && /nope/.test((e as Error).message));
  assert.throws(() => fromEnv({ MICRO_CLIENT_REQUEST_TIMEOUT: "soon" }), ConfigError);
  assert.throws(() => fromArgs(["--server_metadata=novalue"]), /key=value/);
});

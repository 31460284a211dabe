// Custom routes from endpoint metadata (reference §5.3) and their order.
import { test } from "node:test";
import assert from "node:assert/strict";
import { compileHosts, compilePath, decodeEndpoint, invalidEndpoint } from "./endpoints.js";
import { Router } from "./router.js";
import { MemoryRegistry } from "../registry/memory.js";
import type { Service } from "../registry/registry.js";

test("endpoint metadata decodes as upstream writes it; validation as upstream", () => {
  const e = decodeEndpoint({ endpoint: "Greeter.Hello", description: "d", handler: "rpc", method: "GET,POST", path: "/greeter/{name}", host: "" });
  assert.deepEqual(e, { name: "Greeter.Hello", description: "d", handler: "rpc", method: ["GET", "POST"], path: ["/greeter/{name}"], host: [] });
  assert.equal(decodeEndpoint({ stream: "true" }), undefined);
  assert.equal(invalidEndpoint(e!), undefined);
  assert.match(invalidEndpoint({ ...e!, handler: "" })!, /handler/);
  assert.match(invalidEndpoint({ ...e!, path: ["^/open"] })!, /\^ and ends with \$/);
});

test("path templates and regexes capture fields; hosts match by regex", () => {
  assert.deepEqual(compilePath("/greeter/{name}")("/greeter/John"), { name: "John" });
  assert.equal(compilePath("/greeter/{name}")("/greeter/John/x"), undefined);
  assert.deepEqual(compilePath("/files/{path=**}")("/files/a/b%20c"), { path: "a/b c" });
  assert.deepEqual(compilePath("/a/*/c")("/a/zz/c"), {});
  assert.deepEqual(compilePath("^/user/(?<id>[0-9]+)$")("/user/42"), { id: "42" });
  assert.equal(compilePath("^/user/[0-9]+$")("/user/x"), undefined);
  assert.equal(compileHosts([])("any"), true);
  assert.equal(compileHosts(["*"])("any"), true);
  assert.equal(compileHosts(["^api\\.example\\.com$"])("api.example.com"), true);
  assert.equal(compileHosts(["^api\\.example\\.com$"])("evil.com"), false);
});

const svc = (name: string, endpoints: [string, Record<string, string>][]): Service => ({
  name, version: "1", metadata: null,
  endpoints: endpoints.map(([n, metadata]) => ({ name: n, request: null, response: null, metadata })),
  nodes: [{ id: `${name}-1`, address: "127.0.0.1:1", metadata: null }],
});

test("the router: first match in a fixed order (service, endpoint), kept current by the watch", async () => {
  const registry = new MemoryRegistry();
  await registry.register(svc("b.svc", [["B.Any", { endpoint: "B.Any", handler: "rpc", method: "GET", path: "^/x/.*$" }]]));
  await registry.register(svc("a.svc", [
    ["A.Get", { endpoint: "A.Get", handler: "api", method: "GET", path: "/x/{id}" }],
    ["A.Broken", { endpoint: "A.Broken", handler: "", method: "GET", path: "/broken" }],
  ]));
  const warnings: string[] = [];
  const router = new Router(registry, { logger: { warn: (m) => warnings.push(m) } });
  try {
    await router.start();
    assert.deepEqual(router.routes().map((r) => `${r.service} ${r.endpoint.name}`), ["a.svc A.Get", "b.svc B.Any"]);
    assert.equal(warnings.length, 1, "the invalid endpoint is reported and skipped");
    const m = router.match("GET", "/x/7", "h");
    assert.equal(m?.route.service, "a.svc");
    assert.deepEqual(m?.fields, { id: "7" });
    assert.equal(router.match("GET", "/x/7/8", "h")?.route.service, "b.svc");
    assert.equal(router.match("POST", "/x/7", "h"), undefined, "method must be listed");

    await registry.deregister(svc("a.svc", []));
    for (let i = 0; i < 40 && router.routes().length !== 1; i++) await new Promise((r) => setTimeout(r, 25));
    assert.equal(router.match("GET", "/x/7", "h")?.route.service, "b.svc", "the watch dropped a.svc's routes");
  } finally {
    router.close();
    await registry.close();
  }
});

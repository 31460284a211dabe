import { test } from "node:test";
import assert from "node:assert/strict";
import { MicroError } from "../errors/errors.js";
import { checkedTarget, namespaceFor, resolveWeb, webNamespace } from "./resolver.js";
import { exampleRequest, formatShape, webLink } from "./views.js";

test("the namespace flag: .web trimmed then added, as upstream's micro web", () => {
  assert.equal(webNamespace(undefined), "go.micro.web");
  assert.equal(webNamespace(""), "go.micro.web");
  assert.equal(webNamespace("go.micro.web"), "go.micro.web");
  assert.equal(webNamespace("com.example.web"), "com.example.web");
  assert.equal(webNamespace("com.example"), "com.example.web");
  assert.equal(webNamespace("domain"), "domain");
  assert.equal(namespaceFor("domain", "foo.bar.example.com:8082"), "bar.foo.web");
  assert.equal(namespaceFor("domain", "127.0.0.1:8082"), "go.micro.web");
  assert.equal(namespaceFor("domain", "localhost"), "go.micro.web");
  assert.equal(namespaceFor("domain", "example.com"), "go.micro.web");
  assert.equal(namespaceFor("com.example.web", "foo.example.com"), "com.example.web");
});

test("path routing: /<name>/rest → <ns>.<name> with /rest, base path /<name>", () => {
  assert.deepEqual(resolveWeb("path", "go.micro.web", "/greeter/say/hi?x=1", "localhost:8082"), {
    kind: "proxy",
    candidates: [{ service: "go.micro.web.greeter", path: "/say/hi?x=1", basePath: "/greeter", alias: "greeter", bare: false }],
  });
  assert.deepEqual(resolveWeb("path", "go.micro.web", "/greeter", undefined), {
    kind: "proxy",
    candidates: [{ service: "go.micro.web.greeter", path: "/", basePath: "/greeter", alias: "greeter", bare: true }],
  });
  assert.deepEqual(resolveWeb("path", "go.micro.web", "/my-app//a///b", undefined), {
    kind: "proxy",
    candidates: [{ service: "go.micro.web.my-app", path: "/a/b", basePath: "/my-app", alias: "my-app", bare: false }],
  });
  // the alias must match upstream's rule
  assert.equal(resolveWeb("path", "go.micro.web", "/-bad/x", undefined).kind, "none");
  assert.equal(resolveWeb("path", "go.micro.web", "/a_b/x", undefined).kind, "none");
  // the dashboard's own paths
  for (const p of ["/", "/services", "/client", "/rpc", "/favicon.ico", "/service/go.micro.srv.greeter", "/_/app.js", "/_/events"]) {
    assert.equal(resolveWeb("path", "go.micro.web", p, undefined).kind, "dashboard", p);
  }
  // absolute-form targets are routed by their path
  assert.equal(resolveWeb("path", "go.micro.web", "http://elsewhere.example/greeter/x", undefined).kind, "proxy");
});

test("dot segments, encoded or not, NUL and bad escapes are refused with 400", () => {
  for (const url of ["/a/../b", "/a/%2e%2E/b", "/a/..%2fb", "/a/..%5cb", "/./a", "/a/%00", "/a/%e0%a4%a", "relative", "/a/.%2e/b"]) {
    assert.throws(() => checkedTarget(url), (e: unknown) => e instanceof MicroError && e.code === 400 && e.id === "go.micro.web", url);
  }
  assert.equal(checkedTarget("/a/..b/c..").path, "/a/..b/c..");
  assert.equal(checkedTarget("/a/%20b?q=%2e%2e").rawPath, "/a/%20b");
  assert.equal(checkedTarget("/a/%20b?q=../..").query, "?q=../..");
});

test("subdomain routing: foo.micro.mu → go.micro.web.foo; foo.example.com/bar → foo.web.bar, then by path", () => {
  assert.deepEqual(resolveWeb("subdomain", "go.micro.web", "/x/y", "foo.micro.mu"), {
    kind: "proxy",
    candidates: [{ service: "go.micro.web.foo", path: "/x/y", basePath: "", alias: "foo", bare: false }],
  });
  const r = resolveWeb("subdomain", "go.micro.web", "/bar/baz", "foo.example.com");
  assert.equal(r.kind, "proxy");
  assert.deepEqual(r.kind === "proxy" && r.candidates.map((c) => [c.service, c.path]), [["foo.web.bar", "/bar/baz"], ["go.micro.web.bar", "/baz"]]);
  // the dashboard stays on its paths, and on dashboard hosts everything routes by path
  assert.equal(resolveWeb("subdomain", "go.micro.web", "/services", "foo.example.com").kind, "dashboard");
  assert.equal(resolveWeb("subdomain", "go.micro.web", "/greeter/", "web.micro.mu").kind, "proxy");
  assert.deepEqual(resolveWeb("domain", "go.micro.web", "/greeter/x", "127.0.0.1:8082"), resolveWeb("path", "go.micro.web", "/greeter/x", undefined));
});

test("views: shapes as the CLI prints them, an example request, web app links", () => {
  const request = { name: "Request", type: "Request", values: [
    { name: "name", type: "string", values: null },
    { name: "UserId", type: "int64", values: null },
    { name: "tags", type: "[]string", values: null },
    { name: "sub", type: "Sub", values: [{ name: "ok", type: "bool", values: null }] },
  ] };
  assert.equal(formatShape(request), "{\n\tname string\n\tuser_id int64\n\ttags []string\n\tsub Sub {\n\t\tok bool\n\t}\n}");
  assert.equal(formatShape(null), "{}");
  assert.deepEqual(JSON.parse(exampleRequest(request)), { name: "", UserId: 0, tags: [], sub: { ok: false } });
  assert.equal(exampleRequest(null), "{}");
  assert.equal(webLink("go.micro.web.greeter", "go.micro.web"), "/greeter/");
  assert.equal(webLink("go.micro.srv.greeter", "go.micro.web"), null);
  assert.equal(webLink("go.micro.web.a.b", "go.micro.web"), null);
});

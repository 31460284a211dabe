// Path → service/method exactly as upstream's resolvers (reference §5.2).
import { test } from "node:test";
import assert from "node:assert/strict";
import { apiRoute, cleanPath, proxyRoute, resolve } from "./resolver.js";
import { mergePatch, queryToObject } from "./qson.js";

test("micro resolver, rpc handlers: the shapes of upstream's apiRoute", () => {
  const cases: [string, string, string][] = [
    ["/foo", "foo", "Foo.Call"],
    ["/foo/bar", "foo", "Foo.Bar"],
    ["/greeter/say/hello", "greeter", "Say.Hello"],
    ["/v1/foo/bar", "v1.foo", "Foo.Bar"],
    ["/foo/bar/baz", "foo", "Bar.Baz"],
    ["/foo/bar/baz/cat", "foo.bar", "Baz.Cat"],
    ["/v1/foo/bar/baz", "v1.foo", "Bar.Baz"],
    ["/foo/bar/baz-xyz", "foo", "Bar.BazXyz"],
    ["/foo/fooBar/bazCat", "foo", "FooBar.BazCat"],
    ["//greeter//say/hello/", "greeter", "Say.Hello"],
  ];
  for (const [path, service, method] of cases) assert.deepEqual(apiRoute(path), { service, method }, path);
  assert.equal(apiRoute("/"), undefined);
  assert.deepEqual(resolve("micro", "meta", { method: "GET", path: "/greeter/say/hello", host: "" }, "go.micro.api"), { service: "go.micro.api.greeter", method: "Say.Hello" });
  assert.deepEqual(resolve("micro", "rpc", { method: "GET", path: "/v1/foo/bar", host: "" }, "go.micro.api"), { service: "go.micro.api.v1.foo", method: "Foo.Bar" });
  assert.deepEqual(resolve("micro", "api", { method: "GET", path: "/foo/bar", host: "" }, "mu.micro.book.web"), { service: "mu.micro.book.web.foo", method: "Foo.Bar" });
});

test("micro resolver, proxy handlers: the first segment (or vN/x), HTTP method as method", () => {
  assert.equal(proxyRoute("/foo/a/b"), "foo");
  assert.equal(proxyRoute("/v1/foo/a"), "v1.foo");
  assert.equal(proxyRoute("/user-web/x"), "user-web");
  assert.equal(proxyRoute("/bad_name/x"), undefined);
  assert.equal(proxyRoute("/"), undefined);
  assert.deepEqual(resolve("micro", "web", { method: "POST", path: "/user/login", host: "" }, "mu.micro.book.web"), { service: "mu.micro.book.web.user", method: "POST" });
});

test("path, vpath, host and grpc resolvers", () => {
  const req = (path: string, host = "") => ({ method: "GET", path, host });
  assert.deepEqual(resolve("path", "rpc", req("/foo/bar/baz"), "go.micro.api"), { service: "go.micro.api.foo", method: "GET" });
  assert.deepEqual(resolve("vpath", "rpc", req("/v2/foo/bar"), "go.micro.api"), { service: "go.micro.api.v2.foo", method: "GET" });
  assert.deepEqual(resolve("vpath", "rpc", req("/foo/bar"), "go.micro.api"), { service: "go.micro.api.foo", method: "GET" });
  assert.deepEqual(resolve("host", "rpc", req("/x", "greeter.example.com"), "go.micro.api"), { service: "greeter.example.com", method: "GET" });
  assert.deepEqual(resolve("grpc", "rpc", req("/helloworld.Greeter/SayHello"), "go.micro.api"), { service: "helloworld", method: "Greeter.SayHello" });
  assert.equal(resolve("grpc", "rpc", req("/nodot/x"), "go.micro.api"), undefined);
});

test("cleanPath drops empty, . and .. segments", () => {
  assert.equal(cleanPath("/a/./b/../c//d/"), "/a/c/d");
  assert.equal(cleanPath("/../../etc"), "/etc");
  assert.equal(cleanPath(""), "/");
});

test("query strings as upstream's qson: nesting, JSON values, strings otherwise", () => {
  assert.deepEqual(queryToObject("name=John&age=42&ok=true&q=%22quoted%22&a[b][c]=x"), { name: "John", age: 42, ok: true, q: "quoted", a: { b: { c: "x" } } });
  assert.deepEqual(queryToObject("__proto__[x]=1&constructor=2"), {});
  assert.deepEqual(mergePatch({ name: "a", keep: 1, nested: { x: 1, y: 2 } }, { name: "b", keep: null, nested: { y: 3 } }), { name: "b", nested: { x: 1, y: 3 } });
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { MicroError, badRequest, notFound, timeout, internalServerError, parse, fromError } from "./errors.js";

test("constructors set code and Go's status text", () => {
  const e = badRequest("go.micro.srv.greeter", "name %s is required", "x");
  assert.equal(e.code, 400);
  assert.equal(e.status, "Bad Request");
  assert.equal(e.detail, "name x is required");
  assert.equal(notFound("a", "b").status, "Not Found");
  assert.equal(timeout("a", "b").code, 408);
  assert.equal(String(internalServerError("go.micro.client", "boom")),
    '{"id":"go.micro.client","code":500,"detail":"boom","status":"Internal Server Error"}');
});

test("parse reads the wire JSON and falls back to plain text like upstream", () => {
  const e = parse('{"id":"go.micro.client","code":408,"detail":"call timeout","status":"Request Timeout"}');
  assert.ok(e instanceof MicroError);
  assert.deepEqual(e.toJSON(), { id: "go.micro.client", code: 408, detail: "call timeout", status: "Request Timeout" });
  const plain = parse("rpc: can't find service Foo");
  assert.equal(plain.code, 0);
  assert.equal(plain.detail, "rpc: can't find service Foo");
  assert.equal(parse("{not json").detail, "{not json");
});

test("empty fields are omitted as Go's omitempty does", () => {
  assert.equal(JSON.stringify(new MicroError("", 0, "x", "")), '{"detail":"x"}');
  assert.equal(fromError(new Error("bad"), "svc").code, 500);
});

test("status texts are Go's http.StatusText, also where node names a code otherwise", () => {
  assert.equal(new MicroError("x", 413, "big").status, "Request Entity Too Large");
  assert.equal(new MicroError("x", 414, "long").status, "Request URI Too Long");
  assert.equal(new MicroError("x", 416, "range").status, "Requested Range Not Satisfiable");
  assert.equal(new MicroError("x", 418, "tea").status, "I'm a teapot");
  assert.equal(new MicroError("x", 509, "?").status, "");
  assert.equal(new MicroError("x", 408, "slow").status, "Request Timeout");
  assert.equal(new MicroError("x", 599, "?").status, "");
});

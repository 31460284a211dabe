import { test } from "node:test";
import assert from "node:assert/strict";
import { camelToSnake, formatService, indentJSON, goDuration } from "./format.js";

test("camelToSnake as snaker does", () => {
  assert.equal(camelToSnake("UserId"), "user_id");
  assert.equal(camelToSnake("user_name"), "user_name");
  assert.equal(camelToSnake("HTTPServer"), "http_server");
  assert.equal(camelToSnake("createdTime"), "created_time");
  assert.equal(camelToSnake("ID"), "id");
});

test("get service prints upstream's layout", () => {
  const text = formatService([{
    name: "mu.micro.book.srv.user", version: "latest", metadata: null,
    nodes: [{ id: "mu.micro.book.srv.user-1", address: "192.168.3.222:35765", metadata: { transport: "http", broker: "http", server: "mucp", registry: "etcd", protocol: "mucp" } }],
    endpoints: [{
      name: "User.QueryUserByName", metadata: null,
      request: { name: "Request", type: "Request", values: [{ name: "user_id", type: "string", values: null }] },
      response: { name: "Response", type: "Response", values: [
        { name: "success", type: "bool", values: null },
        { name: "error", type: "Error", values: [{ name: "code", type: "int32", values: null }] },
      ] },
    }, { name: "User.Ping", metadata: { stream: "true" }, request: null, response: { name: "R", type: "R", values: null } }],
  }]);
  assert.equal(text, [
    "service  mu.micro.book.srv.user", "", "version latest", "", "ID\tAddress\tMetadata",
    "mu.micro.book.srv.user-1\t192.168.3.222:35765\tbroker=http,protocol=mucp,registry=etcd,server=mucp,transport=http",
    "", "Endpoint: User.QueryUserByName", "",
    "Request: {", "\tuser_id string", "}", "", "Response: {", "\tsuccess bool", "\terror Error {", "\t\tcode int32", "\t}", "}", "",
    "", "Endpoint: User.Ping", "", "Metadata: stream=true", "", "Request: {}", "", "Response: {}", "",
  ].join("\n"));
});

test("indentJSON is Go's json.Indent with tabs", () => {
  assert.equal(indentJSON('{"msg":"Hello John"}\n'), '{\n\t"msg": "Hello John"\n}');
  assert.equal(indentJSON('{"a":[],"b":{},"c":[1, 2],"d":"x,\\"y:{"}'),
    '{\n\t"a": [],\n\t"b": {},\n\t"c": [\n\t\t1,\n\t\t2\n\t],\n\t"d": "x,\\"y:{"\n}');
  assert.equal(indentJSON('{"big":12345678901234567890}'), '{\n\t"big": 12345678901234567890\n}');
});

test("Go durations print as Go does", () => {
  assert.equal(goDuration(0), "0s");
  assert.equal(goDuration(1_500_000), "1.5ms");
  assert.equal(goDuration(5e9), "5s");
  assert.equal(goDuration(3723e9), "1h2m3s");
});

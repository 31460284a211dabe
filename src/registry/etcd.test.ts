import { test } from "node:test";
import assert from "node:assert/strict";
import { etcdKey, parseEtcdAddress } from "./etcd.js";

test("--registry_address for etcd: comma list, port 2379 added, schemes and credentials accepted", () => {
  assert.deepEqual(parseEtcdAddress(undefined), { hosts: ["http://127.0.0.1:2379"], secure: false });
  assert.deepEqual(parseEtcdAddress("192.168.3.222:2379"), { hosts: ["http://192.168.3.222:2379"], secure: false });
  assert.deepEqual(parseEtcdAddress(" a , b:4001,http://c "), { hosts: ["http://a:2379", "http://b:4001", "http://c:2379"], secure: false });
  assert.deepEqual(parseEtcdAddress("https://user:p%40ss@etcd.example:2379"), {
    hosts: ["https://etcd.example:2379"], secure: true, username: "user", password: "p@ss",
  });
  assert.deepEqual(parseEtcdAddress(["[::1]", "10.0.0.1"]).hosts, ["http://[::1]:2379", "http://10.0.0.1:2379"]);
  assert.throws(() => parseEtcdAddress("ftp://x"), /scheme must be http or https/);
  assert.throws(() => parseEtcdAddress("http://x:2379/v3"), /no path expected/);
  assert.throws(() => parseEtcdAddress("http://[bad"), /bad etcd address/);
});

test("node keys: upstream's prefix, slashes in names and ids become dashes", () => {
  assert.equal(etcdKey("go.micro.srv.greeter", "go.micro.srv.greeter-1"), "/micro/registry/go.micro.srv.greeter/go.micro.srv.greeter-1");
  assert.equal(etcdKey("a/b", "c/d/e"), "/micro/registry/a-b/c-d-e");
});

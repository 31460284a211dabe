import { test } from "node:test";
import assert from "node:assert/strict";
import { jsonCodec, bytesCodec, defaultCodecs, codecFor, CodecError } from "./index.js";

test("json codec writes what Go's json.Encoder writes", () => {
  assert.equal(jsonCodec.marshal({ msg: "Hello John" }).toString(), '{"msg":"Hello John"}\n');
  assert.equal(jsonCodec.marshal({ h: "<a&b>" }).toString(), '{"h":"\\u003ca\\u0026b\\u003e"}\n');
  assert.deepEqual(jsonCodec.unmarshal(Buffer.from('{"name":"John"}\n')), { name: "John" });
  assert.deepEqual(jsonCodec.unmarshal(Buffer.alloc(0)), {});
  assert.throws(() => jsonCodec.unmarshal(Buffer.from("{nope")), CodecError);
});

test("bytes codec passes bytes through", () => {
  const b = Buffer.from([1, 2, 3]);
  assert.equal(bytesCodec.marshal(b), b);
  assert.deepEqual(bytesCodec.marshal(new Uint8Array([4])), Buffer.from([4]));
  assert.throws(() => bytesCodec.marshal({}), CodecError);
});

test("codec lookup accepts parameters and refuses unknown types", () => {
  const t = defaultCodecs();
  assert.equal(codecFor(t, "application/json"), jsonCodec);
  assert.equal(codecFor(t, "application/json; charset=utf-8"), jsonCodec);
  assert.equal(codecFor(t, "text/html"), undefined);
});

// The mDNS records: TXT encoding as upstream, zones, answers, and packets read
// back into nodes, including ones shaped the way a Go go-micro node sends them.
// (Registries talking over real multicast: test/mdns.test.ts.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { inflateSync } from "node:zlib";
import { randomBytes } from "node:crypto";
import dnsPacket, { type Packet } from "dns-packet";
import type { Service } from "./registry.js";
import {
  answers, decodeTxt, encodeTxt, instanceAddr, instancesOf, listZone, listedName, nodeZone, serviceOf, zoneRecords, type MdnsTxt,
} from "./mdns-records.js";
import { GO_TXT_HEX, GO_TXT_JSON } from "./testdata/mdns-go.js";

const greeter: Service = {
  name: "go.micro.srv.greeter",
  version: "latest",
  metadata: { ignored: "by mdns" },
  endpoints: [
    {
      name: "Say.Hello",
      request: { name: "Request", type: "Request", values: [{ name: "name", type: "string", values: null }] },
      response: { name: "Response", type: "Response", values: [{ name: "msg", type: "string", values: null }] },
      metadata: {},
    },
  ],
  nodes: [{ id: "go.micro.srv.greeter-5f1c", address: "10.0.0.7:40123", metadata: { transport: "http", registry: "mdns", note: "<a&b>" } }],
};

/** Through the wire format and back, as a receiver gets it. */
const roundTrip = (packet: Packet) => dnsPacket.decode(dnsPacket.encode(packet));

test("TXT: hex(zlib(json)) with Go's field names, in chunks of at most 255 characters", () => {
  const txt = nodeZone(greeter, greeter.nodes![0]!, "micro", "host1", 120).txt;
  assert.ok(txt.every((c) => c.length <= 255 && /^[0-9a-f]+$/.test(c)));
  const json = inflateSync(Buffer.from(txt.join(""), "hex")).toString();
  // The exact text Go's json.Marshal writes for upstream's mdnsTxt: untagged names, map keys sorted, <>& escaped.
  assert.equal(
    json,
    '{"Service":"go.micro.srv.greeter","Version":"latest","Endpoints":[{"name":"Say.Hello","request":{"name":"Request","type":"Request","values":[{"name":"name","type":"string","values":null}]},"response":{"name":"Response","type":"Response","values":[{"name":"msg","type":"string","values":null}]},"metadata":{}}],"Metadata":{"note":"\\u003ca\\u0026b\\u003e","registry":"mdns","transport":"http"}}',
  );

  // Big enough to need several chunks: joined again by the reader.
  const big: MdnsTxt = { Service: "s", Version: "1", Endpoints: null, Metadata: { blob: randomBytes(600).toString("hex") } }; // incompressible
  const chunks = encodeTxt(big);
  assert.ok(chunks.length > 1, `${chunks.length} chunks`);
  assert.ok(chunks.slice(0, -1).every((c) => c.length === 255));
  assert.deepEqual(decodeTxt(chunks), big);
});

test("TXT: reads what a Go node writes, and skips what is not ours", () => {
  const chunks = GO_TXT_HEX.match(/.{1,255}/g)!;
  assert.deepEqual(decodeTxt(chunks), JSON.parse(GO_TXT_JSON));
  assert.deepEqual(decodeTxt(chunks.map((c) => Buffer.from(c))), JSON.parse(GO_TXT_JSON));
  assert.equal(decodeTxt(["txtvers=1"]), undefined); // a plain DNS-SD TXT
  assert.equal(decodeTxt(["zz"]), undefined);
  assert.equal(decodeTxt([Buffer.from("789c").toString()]), undefined); // truncated zlib
  assert.equal(decodeTxt([]), undefined);
});

test("zones: names as upstream, and one-line errors for what DNS cannot carry", () => {
  const zone = nodeZone(greeter, greeter.nodes![0]!, "micro", "host1", 7);
  assert.equal(instanceAddr(zone), "go.micro.srv.greeter-5f1c.go.micro.srv.greeter.micro");
  assert.deepEqual(zone.ips, ["10.0.0.7"]);
  assert.equal(zone.port, 40123);
  const list = listZone("go.micro.srv.greeter", "micro", "host1", 7);
  assert.equal(instanceAddr(list), "go.micro.srv.greeter._services.micro");
  assert.equal(list.port, 9999);
  assert.deepEqual(list.ips, ["0.0.0.0"]);

  assert.throws(() => nodeZone(greeter, { id: "n1", address: "myhost:8080", metadata: null }, "micro", "h", 1), /^Error: mdns: node n1 has address myhost:8080: an IP address is needed/);
  assert.throws(() => nodeZone(greeter, { id: "x".repeat(64), address: "10.0.0.1:1", metadata: null }, "micro", "h", 1), /not a valid DNS name/);
});

test("answers: the service name (PTR/ANY), the instance name (any type), DNS-SD enumeration; nothing else", () => {
  const zone = nodeZone(greeter, greeter.nodes![0]!, "micro", "host1", 7);
  assert.equal(answers(zone, { name: "go.micro.srv.greeter.micro", type: "PTR" }), "zone");
  assert.equal(answers(zone, { name: "GO.micro.srv.greeter.micro", type: "PTR" }), "zone");
  assert.equal(answers(zone, { name: "go.micro.srv.greeter-5f1c.go.micro.srv.greeter.micro", type: "TXT" }), "zone");
  assert.equal(answers(zone, { name: "_services._dns-sd._udp.micro", type: "PTR" }), "enum");
  assert.equal(answers(zone, { name: "go.micro.srv.greeter.micro", type: "A" }), undefined);
  assert.equal(answers(zone, { name: "go.micro.srv.other.micro", type: "PTR" }), undefined);
  assert.equal(answers(zone, { name: "go.micro.srv.greeter.local", type: "PTR" }), undefined);
});

test("packets: our announcement reads back as the node; the goodbye carries TTL 0", () => {
  const zone = nodeZone(greeter, greeter.nodes![0]!, "micro", "host1", 7);
  const [seen] = instancesOf(roundTrip({ type: "response", answers: zoneRecords(zone) }));
  assert.equal(seen!.ttl, 7);
  const service = serviceOf(seen!, "micro");
  assert.deepEqual(service, {
    name: "go.micro.srv.greeter",
    version: "latest",
    metadata: null, // service metadata does not travel over mDNS, as upstream
    endpoints: greeter.endpoints,
    nodes: [{ id: "go.micro.srv.greeter-5f1c", address: "10.0.0.7:40123", metadata: { note: "<a&b>", registry: "mdns", transport: "http" } }],
  });
  const [bye] = instancesOf(roundTrip({ type: "response", answers: zoneRecords(zone, 0) }));
  assert.equal(bye!.ttl, 0);

  const [entry] = instancesOf(roundTrip({ type: "response", answers: zoneRecords(listZone("go.micro.srv.greeter", "micro", "host1", 7)) }));
  assert.equal(listedName(entry!, "micro"), "go.micro.srv.greeter");
  assert.equal(serviceOf(entry!, "micro"), undefined, "a list entry is not a node");
});

test("packets: a Go node's answer (SRV to the host name, A record for the host, extras) gives its node", () => {
  const name = "go.micro.srv.gogreeter-7a2e.go.micro.srv.gogreeter.micro";
  const packet: Packet = {
    type: "response",
    flags: dnsPacket.AUTHORITATIVE_ANSWER,
    questions: [{ name: "go.micro.srv.gogreeter.micro", type: "PTR" }],
    answers: [
      { name: "go.micro.srv.gogreeter.micro", type: "PTR", ttl: 120, data: name },
      { name, type: "SRV", ttl: 120, data: { priority: 10, weight: 1, port: 38111, target: "gohost" } },
      { name: "gohost", type: "A", ttl: 120, data: "10.0.0.9" },
      { name, type: "TXT", ttl: 120, data: GO_TXT_HEX.match(/.{1,255}/g)! },
    ],
  };
  const seen = instancesOf(roundTrip(packet));
  assert.equal(seen.length, 1);
  const service = serviceOf(seen[0]!, "micro")!;
  assert.equal(service.name, "go.micro.srv.gogreeter");
  assert.deepEqual(service.nodes, [{ id: "go.micro.srv.gogreeter-7a2e", address: "10.0.0.9:38111", metadata: JSON.parse(GO_TXT_JSON).Metadata }]);
  assert.equal(service.endpoints![0]!.name, "Say.Hello");

  // Only an IPv6 address: bracketed, as upstream.
  const v6 = instancesOf(roundTrip({ ...packet, answers: [packet.answers![1]!, { name: "gohost", type: "AAAA", ttl: 120, data: "fd00::9" }, packet.answers![3]!] }));
  assert.equal(serviceOf(v6[0]!, "micro")!.nodes![0]!.address, "[fd00::9]:38111");
  // Without its TXT the entry is incomplete: no node (the registry asks for the rest).
  const partial = instancesOf(roundTrip({ ...packet, answers: packet.answers!.slice(0, 3) }));
  assert.equal(serviceOf(partial[0]!, "micro"), undefined);
  // Another domain: not ours.
  assert.equal(serviceOf(seen[0]!, "local"), undefined);
});

// @grpc/grpc-js unary calls, service loaded from bench/greeter.proto with
// @grpc/proto-loader, insecure, 127.0.0.1.
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { join } from "node:path";
import { greet, type Reply, type Request } from "../payload.js";
import { main } from "../peer.js";
import { ROOT } from "../root.js";

const def = protoLoader.loadSync(join(ROOT, "bench", "greeter.proto"));
const greeter = grpc.loadPackageDefinition(def).greeter as grpc.GrpcObject;
const Say = greeter.Say as grpc.ServiceClientConstructor;

await main({
  async serve({ port }) {
    const server = new grpc.Server();
    server.addService(Say.service, {
      hello(call: grpc.ServerUnaryCall<Request, Reply>, callback: grpc.sendUnaryData<Reply>) {
        callback(null, greet(call.request));
      },
    });
    const bound = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    return { info: { port: bound }, stop: () => new Promise<void>((r) => server.tryShutdown(() => r())) };
  },

  async connect({ port, probe }) {
    // A probe polls a port nobody listens on yet: keep the reconnect backoff
    // short (default 1 s) or start-up would measure grpc-js's backoff instead.
    const options = probe ? { "grpc.initial_reconnect_backoff_ms": 5, "grpc.max_reconnect_backoff_ms": 20 } : {};
    const client = new Say(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), options);
    const hello = (req: Request) =>
      new Promise<Reply>((resolve, reject) =>
        client.hello(req, (err: grpc.ServiceError | null, rsp: Reply) => (err ? reject(err) : resolve(rsp))),
      );
    return { hello, close: () => client.close() };
  },
});

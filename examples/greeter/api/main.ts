// The upstream greeter API, in TypeScript: go.micro.api.greeter, behind
// `micro api` (handler api). It takes the whole HTTP request (go.api.Request)
// and calls the greeter service. With the srv, this and `micro api` running:
//   curl "http://localhost:8080/greeter/say/hello?name=John"   →   {"message":"Hello John"}
import { Service, apiEndpoint, errors, type ApiRequest, type ApiResponse } from "../../../src/index.js";

const service = new Service({ name: "go.micro.api.greeter" });

service.handle(
  "Say",
  {
    async hello(req: ApiRequest): Promise<ApiResponse> {
      const name = req.get?.name?.values ?? [];
      if (name.length === 0) throw errors.badRequest("go.micro.api.greeter", "Name cannot be blank");
      const rsp = await service.client.call<{ msg: string }>("go.micro.srv.greeter", "Say.Hello", { name: name.join(" ") });
      return { statusCode: 200, body: JSON.stringify({ message: rsp.msg }) };
    },
  },
  {
    // The route and its handler, so the default (meta) gateway uses the api handler here.
    endpoints: { hello: { metadata: apiEndpoint({ name: "Say.Hello", handler: "api", method: ["GET", "POST"], path: ["/greeter/say/hello"] }) } },
  },
);

await service.run();

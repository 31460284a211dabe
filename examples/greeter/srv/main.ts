// The upstream greeter service, in TypeScript: go.micro.srv.greeter, Say.Hello.
// Run it with `npx tsx examples/greeter/srv/main.ts` (start it several times
// for several nodes) and call it with `npx micro call go.micro.srv.greeter Say.Hello '{"name":"John"}'`.
import { Service, errors, shape } from "../../../src/index.js";

interface Request {
  name: string;
}

interface Response {
  msg: string;
}

const service = new Service({
  name: "go.micro.srv.greeter",
  version: "latest",
});

service.handle(
  "Say",
  {
    async hello(req: Request): Promise<Response> {
      if (typeof req.name !== "string" || req.name === "") {
        throw errors.badRequest("go.micro.srv.greeter", "name is required");
      }
      return { msg: `Hello ${req.name}` };
    },
  },
  {
    endpoints: {
      hello: {
        request: shape("Request", { name: "string" }),
        response: shape("Response", { msg: "string" }),
      },
    },
  },
);

await service.run();

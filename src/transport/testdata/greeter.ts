// The bytes a Go go-micro v2 client writes for the greeter call (Request.Write
// with the rpc codec's headers), shared by the transport tests.
export const GO_BODY = '{"name":"John"}\n';

export function goRequest(host: string, id = "0", body = GO_BODY): string {
  return (
    `POST / HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: Go-http-client/1.1\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
    "Accept: application/json\r\nContent-Type: application/json\r\nMicro-Endpoint: Say.Hello\r\n" +
    `Micro-Id: ${id}\r\nMicro-Method: Say.Hello\r\nMicro-Service: go.micro.srv.greeter\r\nTimeout: 5000000000\r\n\r\n${body}`
  );
}

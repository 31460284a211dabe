// gogreeter: a small Go program that uses go-micro v2.9.1 as a library, for
// interop checks against micro-ts (see ../README.md). It is our own code; no
// go-micro source is copied here.
//
//	gogreeter [go-micro flags] server
//	gogreeter [go-micro flags] call <service> <endpoint> <json>
//	gogreeter [go-micro flags] list
//	gogreeter [go-micro flags] get <service>
//
// get prints the registry's GetService answer as JSON (what go-micro decoded).
// call prints the reply's JSON on stdout, or "error: <go-micro error>" on
// stderr with exit 1. GOGREETER_ADDRESS=host:port makes call skip the registry
// and call that node.
//
// The registry is chosen the usual go-micro way: --registry=etcd
// --registry_address=127.0.0.1:2379, or MICRO_REGISTRY / MICRO_REGISTRY_ADDRESS
// (mdns when neither is given, as go-micro v2's default). Go flags come before
// the mode word.
//
// Client and server are go-micro's mucp (HTTP transport), not v2's default
// gRPC: micro-ts speaks mucp. They are set in code rather than with
// --client=mucp/--server=mucp because go-micro's flag replaces the server with
// a fresh one and the service name given here would be lost.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"

	"github.com/micro/cli/v2"
	micro "github.com/micro/go-micro/v2"
	"github.com/micro/go-micro/v2/client"
	cmucp "github.com/micro/go-micro/v2/client/mucp"
	smucp "github.com/micro/go-micro/v2/server/mucp"
)

// Request and Response are plain structs: go-micro's json codec handles them
// when the caller sends Content-Type: application/json.
type Request struct {
	Name string `json:"name"`
}

type Response struct {
	Msg string `json:"msg"`
}

type Say struct{}

func (s *Say) Hello(ctx context.Context, req *Request, rsp *Response) error {
	rsp.Msg = "Hello " + req.Name
	return nil
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: gogreeter [go-micro flags] server | call <service> <endpoint> <json> | list | get <service>")
	os.Exit(2)
}

func main() {
	var args []string
	service := micro.NewService(
		// Server and Client first: micro.Name and the rest configure the server in place.
		micro.Server(smucp.NewServer()),
		micro.Client(cmucp.NewClient()),
		micro.Name("go.micro.srv.gogreeter"),
		micro.Version("latest"),
		micro.Action(func(c *cli.Context) error {
			args = c.Args().Slice()
			return nil
		}),
	)
	service.Init()
	if len(args) == 0 {
		usage()
	}

	switch args[0] {
	case "server":
		if err := micro.RegisterHandler(service.Server(), new(Say)); err != nil {
			fail(err)
		}
		if err := service.Run(); err != nil {
			fail(err)
		}
	case "call":
		if len(args) != 4 {
			usage()
		}
		req := service.Client().NewRequest(args[1], args[2], json.RawMessage(args[3]), client.WithContentType("application/json"))
		var opts []client.CallOption
		if a := os.Getenv("GOGREETER_ADDRESS"); a != "" {
			// a fixed node (host:port), bypassing the registry: lets the harness put a recording proxy in between
			opts = append(opts, client.WithAddress(a))
		}
		var rsp json.RawMessage
		if err := service.Client().Call(context.Background(), req, &rsp, opts...); err != nil {
			fail(err)
		}
		fmt.Println(string(rsp))
	case "get":
		if len(args) != 2 {
			usage()
		}
		services, err := service.Options().Registry.GetService(args[1])
		if err != nil {
			fail(err)
		}
		b, err := json.Marshal(services)
		if err != nil {
			fail(err)
		}
		fmt.Println(string(b))
	case "list":
		services, err := service.Options().Registry.ListServices()
		if err != nil {
			fail(err)
		}
		names := []string{}
		for _, s := range services {
			names = append(names, s.Name)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Println(n)
		}
	default:
		usage()
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "error:", err)
	os.Exit(1)
}

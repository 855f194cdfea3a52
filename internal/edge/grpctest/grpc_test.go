package grpctest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/forcehttps/forcehttps/internal/certs"
	"github.com/forcehttps/forcehttps/internal/config"
	"github.com/forcehttps/forcehttps/internal/edge"
	"github.com/forcehttps/forcehttps/internal/testutil"
)

// server is the gRPC app: the interoperability test service, answering
// with what it received, plus metadata and trailers to check.
type server struct {
	testpb.UnimplementedTestServiceServer
}

func (server) UnaryCall(ctx context.Context, in *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	grpc.SetTrailer(ctx, metadata.Pairs("x-trailer", "unary"))
	if in.GetResponseStatus() != nil {
		return nil, status.Error(codes.Code(in.GetResponseStatus().GetCode()), in.GetResponseStatus().GetMessage())
	}
	return &testpb.SimpleResponse{Payload: &testpb.Payload{Body: in.GetPayload().GetBody()}}, nil
}

func (server) StreamingOutputCall(in *testpb.StreamingOutputCallRequest, st testpb.TestService_StreamingOutputCallServer) error {
	for i, p := range in.GetResponseParameters() {
		if err := st.Send(&testpb.StreamingOutputCallResponse{Payload: &testpb.Payload{Body: bytes.Repeat([]byte{byte(i)}, int(p.GetSize()))}}); err != nil {
			return err
		}
	}
	st.SetTrailer(metadata.Pairs("x-trailer", "server-stream"))
	return nil
}

func (server) StreamingInputCall(st testpb.TestService_StreamingInputCallServer) error {
	total := 0
	for {
		in, err := st.Recv()
		if err == io.EOF {
			st.SetTrailer(metadata.Pairs("x-trailer", "client-stream"))
			return st.SendAndClose(&testpb.StreamingInputCallResponse{AggregatedPayloadSize: int32(total)})
		}
		if err != nil {
			return err
		}
		total += len(in.GetPayload().GetBody())
	}
}

func (server) FullDuplexCall(st testpb.TestService_FullDuplexCallServer) error {
	for {
		in, err := st.Recv()
		if err == io.EOF {
			st.SetTrailer(metadata.Pairs("x-trailer", "bidi"))
			return nil
		}
		if err != nil {
			return err
		}
		if err := st.Send(&testpb.StreamingOutputCallResponse{Payload: in.GetPayload()}); err != nil {
			return err
		}
	}
}

// accessLog collects the access log.
type accessLog struct{ testutil.Buffer }

// lines returns the access log lines of a path.
func (b *accessLog) lines(path string) []map[string]any {
	var out []map[string]any
	for _, l := range strings.Split(b.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["path"] == path {
			out = append(out, m)
		}
	}
	return out
}

// setup starts a gRPC server, an edge in front of it (api.example.com,
// h2c://) and of a closed port (dead.example.com), and returns a client
// connection through the edge's HTTPS listener for host.
func setup(t *testing.T, timeouts string) (func(host string) *grpc.ClientConn, *accessLog) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	testpb.RegisterTestServiceServer(gs, server{})
	go gs.Serve(ln)
	t.Cleanup(gs.Stop)
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close()

	cfg, err := config.Parse(fmt.Appendf(nil, `
listen: {http: "127.0.0.1:0", https: "127.0.0.1:0"}
tls: {self_signed: [localhost]}
timeouts: {%s}
apps:
  - name: api
    domains: [api.example.com]
    upstream: h2c://%s
  - name: dead
    domains: [dead.example.com]
    upstream: h2c://%s
`, timeouts, ln.Addr(), deadAddr), config.YAML)
	if err != nil {
		t.Fatal(err)
	}
	// The project's certificate manager, with a self-signed certificate
	// that the client trusts as its own root.
	c, err := certs.New(context.Background(), certs.Options{SelfSigned: []string{"api.example.com", "dead.example.com"}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	leaf, err := c.GetCertificate(&tls.ClientHelloInfo{ServerName: "api.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf.Leaf)
	access := &accessLog{}
	srv, err := edge.New(cfg, c, edge.WithAccessLog(slog.New(slog.NewJSONHandler(access, nil))),
		edge.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	addr := srv.Addrs().HTTPS
	dial := func(host string) *grpc.ClientConn {
		creds := credentials.NewTLS(&tls.Config{RootCAs: roots, ServerName: host})
		cc, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(creds), grpc.WithAuthority(host))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cc.Close() })
		return cc
	}
	return dial, access
}

func TestGRPCThroughH2C(t *testing.T) {
	// Short idle timeouts: gRPC calls are streams, bounded by
	// stream_idle, and the pauses below outlast the others.
	dial, access := setup(t, "client_idle: 200ms, upstream_read_idle: 200ms, stream_idle: 10s")
	client := testpb.NewTestServiceClient(dial("api.example.com"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	t.Run("unary", func(t *testing.T) {
		var trailer metadata.MD
		resp, err := client.UnaryCall(ctx, &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte("hello")}}, grpc.Trailer(&trailer))
		if err != nil || string(resp.GetPayload().GetBody()) != "hello" {
			t.Fatalf("UnaryCall = %v, %v; want the payload back", resp, err)
		}
		if got := trailer.Get("x-trailer"); len(got) != 1 || got[0] != "unary" {
			t.Errorf("trailer x-trailer = %q, want unary", got)
		}
	})
	t.Run("unary error", func(t *testing.T) {
		_, err := client.UnaryCall(ctx, &testpb.SimpleRequest{ResponseStatus: &testpb.EchoStatus{Code: int32(codes.NotFound), Message: "no such thing"}})
		if s, _ := status.FromError(err); s.Code() != codes.NotFound || s.Message() != "no such thing" {
			t.Errorf("UnaryCall = %v, want NotFound: no such thing", err)
		}
		path := "/grpc.testing.TestService/UnaryCall"
		var found bool
		for _, l := range access.lines(path) {
			if l["grpc_status"] == "5" && l["grpc_message"] == "no such thing" {
				found = true
			}
		}
		if !found {
			t.Errorf("access log of %s lacks grpc_status 5 with its message: %v", path, access.lines(path))
		}
	})
	t.Run("server stream", func(t *testing.T) {
		st, err := client.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{ResponseParameters: []*testpb.ResponseParameters{{Size: 10}, {Size: 100000}, {Size: 1}}})
		if err != nil {
			t.Fatal(err)
		}
		var sizes []int
		for {
			m, err := st.Recv()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			sizes = append(sizes, len(m.GetPayload().GetBody()))
		}
		if fmt.Sprint(sizes) != "[10 100000 1]" {
			t.Errorf("messages of sizes %v, want [10 100000 1]", sizes)
		}
		if got := st.Trailer().Get("x-trailer"); len(got) != 1 || got[0] != "server-stream" {
			t.Errorf("trailer x-trailer = %q, want server-stream", got)
		}
	})
	t.Run("client stream", func(t *testing.T) {
		st, err := client.StreamingInputCall(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			if i == 2 {
				time.Sleep(500 * time.Millisecond) // longer than client_idle
			}
			if err := st.Send(&testpb.StreamingInputCallRequest{Payload: &testpb.Payload{Body: make([]byte, 1000)}}); err != nil {
				t.Fatal(err)
			}
		}
		resp, err := st.CloseAndRecv()
		if err != nil || resp.GetAggregatedPayloadSize() != 5000 {
			t.Fatalf("CloseAndRecv = %v, %v; want 5000 bytes counted", resp, err)
		}
		if got := st.Trailer().Get("x-trailer"); len(got) != 1 || got[0] != "client-stream" {
			t.Errorf("trailer x-trailer = %q, want client-stream", got)
		}
	})
	t.Run("bidi", func(t *testing.T) {
		st, err := client.FullDuplexCall(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// Each answer comes back before the next message is sent: the
		// call is full duplex end to end.
		for i := range 4 {
			if i == 2 {
				time.Sleep(500 * time.Millisecond)
			}
			msg := fmt.Sprintf("m%d", i)
			if err := st.Send(&testpb.StreamingOutputCallRequest{Payload: &testpb.Payload{Body: []byte(msg)}}); err != nil {
				t.Fatal(err)
			}
			got, err := st.Recv()
			if err != nil || string(got.GetPayload().GetBody()) != msg {
				t.Fatalf("echo %d = %v, %v; want %q", i, got, err, msg)
			}
		}
		st.CloseSend()
		if _, err := st.Recv(); err != io.EOF {
			t.Fatalf("after CloseSend: %v, want io.EOF", err)
		}
		if got := st.Trailer().Get("x-trailer"); len(got) != 1 || got[0] != "bidi" {
			t.Errorf("trailer x-trailer = %q, want bidi", got)
		}
	})
}

func TestGRPCDeadApp(t *testing.T) {
	dial, access := setup(t, "upstream_dial: 2s")
	client := testpb.NewTestServiceClient(dial("dead.example.com"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := client.UnaryCall(ctx, &testpb.SimpleRequest{})
	s, _ := status.FromError(err)
	if s.Code() != codes.Unavailable || !strings.Contains(s.Message(), "not answering") {
		t.Errorf("call to a dead app = %v, want Unavailable from the edge", err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("the client waited for its own deadline")
	}
	lines := access.lines("/grpc.testing.TestService/UnaryCall")
	if len(lines) != 1 || lines[0]["grpc_status"] != "14" || lines[0]["status"] != 200.0 {
		t.Errorf("access log = %v, want one line with status 200 and grpc_status 14", lines)
	}
}

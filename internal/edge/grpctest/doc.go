// Package grpctest proves the edge a gRPC proxy with a real gRPC server
// and client (google.golang.org/grpc): unary calls, server, client and
// bidirectional streams through an h2c:// upstream, with trailers and
// statuses passed through. It is a module of its own so that the main
// module does not depend on gRPC.
package grpctest

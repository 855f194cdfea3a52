// Package bench compares forcehttps with its peers. It is a separate module
// so that the peers (github.com/unrolled/secure and, later, the servers the
// edge is measured against) never enter the main module's dependencies.
//
// # Middleware microbenchmarks
//
// middleware_test.go runs the same work through forcehttps and
// unrolled/secure, configured to send the same headers, as sub-benchmarks
// named impl=forcehttps and impl=unrolled, so that benchstat can put them in
// columns:
//
//	go test -run '^$' -bench . -count 10 > micro.txt
//	benchstat -col /impl micro.txt
//
// micro.sh does both and installs benchstat if needed.
//
// The two are not identical in what they check: forcehttps validates and
// normalizes the Host before redirecting and decides trust from the peer
// address; unrolled/secure compares the raw Host with its list and trusts
// any peer's proxy headers. The benchmarks give unrolled/secure the same
// allowed host and proxy header so both do comparable work.
package bench

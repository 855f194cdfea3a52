// Package testutil holds the helpers that several packages' tests share:
// a throwaway certificate authority, a headless Chromium, the lookup of
// the outside tools a test drives, and a buffer safe for concurrent use.
// It is imported only from _test.go files.
//
// Every helper takes a [testing.TB] and reports its own failures with
// t.Fatal, so a test reads as the steps it takes:
//
//	ca := testutil.NewCA(t, testutil.CAOptions{})
//	leaf := ca.Issue(t, testutil.LeafOptions{Names: []string{"example.test", "127.0.0.1"}})
//	srv.TLS = &tls.Config{Certificates: []tls.Certificate{leaf.TLSCertificate()}}
//	client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}
//
// # Certificates
//
// [NewCA] makes a CA with an ECDSA P-256 key; [CA.Issue] signs a server
// certificate ([Leaf]) for DNS names and IP addresses, valid when asked
// (expired and not-yet-valid certificates included), with an ECDSA P-256
// or an RSA key. A Leaf gives its certificate as PEM (alone or followed by
// the CA), its key as PEM (SEC 1 or PKCS #1, or PKCS #8), and a
// [tls.Certificate]. [CA.Pool] is a pool trusting only the CA;
// [CA.WriteFile] and [WriteFile] put PEM on disk. Nothing here touches
// the network or the system's trust store.
//
// # Outside tools
//
// A test that needs a program from outside Go finds it with [FindTool]
// (the module's .tools/bin directory, then PATH) or [FindChromium]
// ($CHROMIUM, then PATH). When the program is missing, [MissingTool]
// decides: the test fails when the environment variable CI is set, so
// that CI never passes by skipping, and is skipped otherwise, both with
// the command that installs the program.
//
// # Chromium
//
// [Chromium.Run] runs the browser once, headless, with a fresh profile,
// for flags such as --dump-dom or --screenshot. [Chromium.Start] keeps it
// running and returns a [DevTools] session with its page, to drive it
// through the Chrome DevTools Protocol ([DevTools.Call],
// [DevTools.Eval], [DevTools.WaitFor]). The browser is stopped and its
// profile removed when the test ends.
package testutil

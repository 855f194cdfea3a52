package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/forcehttps/forcehttps/internal/buildinfo"
)

func init() {
	register("version", "print the version, revision and Go version of this build", runVersion)
}

const versionUsage = `Usage: forcehttps version
       forcehttps --version

Prints the module version (a tag for "go install ...@vX.Y.Z", "(devel)"
for a build from a checkout), the version control revision, its time and
"modified" when the build had uncommitted changes (when Go recorded them),
the Go version and the platform.

Flags:
`

func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, versionUsage)
		fs.PrintDefaults()
	}
	addLogFlags(fs, nil) // accepted by every command
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "forcehttps version: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	fmt.Fprintln(stdout, buildinfo.Read())
	return 0
}

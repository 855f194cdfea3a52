// Command forcehttps runs the parts of forcehttps: the TLS-terminating edge,
// the header inspector, the site auditor and the admin client.
//
// Usage:
//
//	forcehttps <command> [flags] [args]
//
// Run "forcehttps help" for the list of commands, and
// "forcehttps <command> -h" for a command's flags; "forcehttps --version"
// (or "forcehttps version") prints the build. Every command takes
// --log-format text|json and --log-level, registered by addLogFlags with
// the same defaults everywhere, and answers --help without a token or a
// configuration.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand. run returns the process exit code.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

// commands is filled by each command's file in its init function.
var commands = map[string]command{}

// register adds a subcommand; each command file calls it from init.
func register(name, summary string, run func(ctx context.Context, args []string, stdout, stderr io.Writer) int) {
	commands[name] = command{summary: summary, run: run}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches to a subcommand. Exit codes: 0 success, 2 usage error,
// others as the command says.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if args[0] == "--version" || args[0] == "-version" {
		args = append([]string{"version"}, args[1:]...)
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "forcehttps: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	return c.run(ctx, args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: forcehttps <command> [flags] [args]")
	fmt.Fprintln(w, "\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nEvery command takes --log-format text|json and --log-level debug|info|warn|error")
	fmt.Fprintln(w, "(defaults: $FORCEHTTPS_LOG_FORMAT or text, $FORCEHTTPS_LOG_LEVEL or info).")
	fmt.Fprintln(w, "\nRun \"forcehttps <command> -h\" for a command's flags, \"forcehttps --version\" for the build.")
}

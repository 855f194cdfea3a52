package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestRunUsage(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		code     int
		inStdout string
		inStderr string
	}{
		{"no args", nil, 2, "Usage: forcehttps", ""},
		{"help", []string{"help"}, 0, "Commands:", ""},
		{"unknown", []string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := run(context.Background(), tt.args, &out, &errOut); code != tt.code {
				t.Errorf("run(%q) = %d, want %d", tt.args, code, tt.code)
			}
			if !strings.Contains(out.String(), tt.inStdout) || !strings.Contains(errOut.String(), tt.inStderr) {
				t.Errorf("run(%q): stdout %q, stderr %q", tt.args, out.String(), errOut.String())
			}
		})
	}
}

// TestEveryCommandFlags checks the rules every subcommand keeps: --help
// works without credentials or configuration, and the logging flags are
// accepted, and checked, by all of them.
func TestEveryCommandFlags(t *testing.T) {
	t.Setenv("FORCEHTTPS_ADMIN_TOKEN", "")
	t.Setenv("FORCEHTTPS_LOG_FORMAT", "")
	t.Setenv("FORCEHTTPS_LOG_LEVEL", "")
	if len(commands) < 5 {
		t.Fatalf("only %d commands registered", len(commands))
	}
	for name := range commands {
		for _, tt := range []struct {
			args     []string
			code     int
			inOutput string
		}{
			{[]string{"--help"}, 0, "Usage: forcehttps " + name},
			{[]string{"-h"}, 0, "-log-format"},
			{[]string{"--log-format", "json", "--log-level", "debug", "--help"}, 0, "-log-level"},
			{[]string{"--log-format=text", "--help"}, 0, "Usage:"},
			{[]string{"--log-format", "xml"}, 2, `"xml": want text or json`},
			{[]string{"--log-level", "loud"}, 2, `invalid log level "loud"`},
		} {
			args := append([]string{name}, tt.args...)
			var out, errOut bytes.Buffer
			if code := run(context.Background(), args, &out, &errOut); code != tt.code {
				t.Errorf("forcehttps %q = %d, want %d\nstderr: %s", args, code, tt.code, errOut.String())
			}
			// Help goes to stdout or stderr (apps prints it on stdout,
			// the flag package on stderr): look at both.
			if all := out.String() + errOut.String(); !strings.Contains(all, tt.inOutput) {
				t.Errorf("forcehttps %q: output lacks %q:\n%s", args, tt.inOutput, all)
			}
			if strings.Contains(errOut.String(), "token") && !strings.Contains(errOut.String(), "Usage") {
				t.Errorf("forcehttps %q asks for a token:\n%s", args, errOut.String())
			}
		}
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"version"}, {"--version"}} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), args, &out, &errOut); code != 0 {
			t.Errorf("forcehttps %q = %d, want 0; stderr %s", args, code, errOut.String())
		}
		if got := out.String(); !strings.HasPrefix(got, "forcehttps ") || !strings.Contains(got, " go1.") || !strings.HasSuffix(got, "\n") {
			t.Errorf("forcehttps %q printed %q, want \"forcehttps VERSION ... goX.Y ...\"", args, got)
		}
	}
}

package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
)

// Every command takes the same two logging flags, registered by
// addLogFlags, with the same defaults: text (one key=value line per
// event, for a terminal) at level info. Set FORCEHTTPS_LOG_FORMAT=json
// where a log collector reads the lines. The edge's access log is not
// concerned: its format is the configuration's access_log.format.
const (
	defaultLogFormat = "text"
	envLogFormat     = "FORCEHTTPS_LOG_FORMAT"
	envLogLevel      = "FORCEHTTPS_LOG_LEVEL"
)

// logOptions are the values of --log-format and --log-level.
type logOptions struct {
	format logFormat
	level  logLevel
	envErr error // an invalid environment default, reported by logger
}

// logFormat is the value of --log-format: text or json.
type logFormat string

func (f *logFormat) String() string { return string(*f) }

// Set accepts text or json, so that the flag package reports any other
// value as a usage error of the command.
func (f *logFormat) Set(s string) error {
	switch s {
	case "text", "json":
		*f = logFormat(s)
		return nil
	}
	return fmt.Errorf("%q: want text or json", s)
}

// logLevel is the value of --log-level: debug, info, warn or error.
type logLevel struct{ slog.Level }

func (l *logLevel) String() string { return strings.ToLower(l.Level.String()) }

// Set accepts debug, info, warn and error (and slog's offsets, "warn+2").
func (l *logLevel) Set(s string) error {
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return fmt.Errorf("invalid log level %q: want debug, info, warn or error", s)
	}
	return nil
}

// addLogFlags registers --log-format and --log-level on fs, their
// defaults read from getenv (FORCEHTTPS_LOG_FORMAT, FORCEHTTPS_LOG_LEVEL;
// nil means os.Getenv). Every command calls it, so that the flags mean
// the same everywhere, even for commands that log nothing yet.
func addLogFlags(fs *flag.FlagSet, getenv func(string) string) *logOptions {
	if getenv == nil {
		getenv = os.Getenv
	}
	o := &logOptions{format: defaultLogFormat}
	o.level.Level = slog.LevelInfo
	if v := getenv(envLogFormat); v != "" {
		if err := o.format.Set(v); err != nil {
			o.envErr = fmt.Errorf("invalid $%s %w", envLogFormat, err)
		}
	}
	if v := getenv(envLogLevel); v != "" {
		if err := o.level.Set(v); err != nil {
			o.envErr = fmt.Errorf("invalid $%s: %w", envLogLevel, err)
		}
	}
	fs.Var(&o.format, "log-format", "`format` of the logs on stderr: text or json ($"+envLogFormat+")")
	fs.Var(&o.level, "log-level", "`level` of the logs on stderr: debug (every decision), info, warn or error ($"+envLogLevel+")")
	return o
}

// logger returns the logger the flags describe, writing to w, or the
// error of an invalid environment default.
func (o *logOptions) logger(w io.Writer) (*slog.Logger, error) {
	if o.envErr != nil {
		return nil, o.envErr
	}
	opts := &slog.HandlerOptions{Level: o.level.Level}
	if o.format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

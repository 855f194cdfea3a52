package config

import (
	"errors"
	"fmt"
	"strings"
)

// Errors wrapped by [FieldError], for errors.Is.
var (
	ErrSyntax          = errors.New("syntax error")
	ErrUnknownKey      = errors.New("unknown key")
	ErrDuplicateKey    = errors.New("duplicate key")
	ErrType            = errors.New("wrong type")
	ErrRequired        = errors.New("required")
	ErrDuration        = errors.New("invalid duration")
	ErrAddress         = errors.New("invalid listen address")
	ErrCIDR            = errors.New("invalid CIDR")
	ErrDomain          = errors.New("invalid domain")
	ErrDuplicateDomain = errors.New("domain served by two apps")
	ErrDuplicateName   = errors.New("duplicate app name")
	ErrName            = errors.New("invalid app name")
	ErrUpstream        = errors.New("invalid upstream")
	ErrResponse        = errors.New("invalid static response")
	ErrPolicy          = errors.New("invalid Force HTTPS policy")
	ErrTLS             = errors.New("invalid TLS configuration")
	ErrNoCertificate   = errors.New("domain without a certificate")
	ErrValue           = errors.New("invalid value")
	ErrTooManyErrors   = errors.New("too many errors")
)

// FieldError is one problem in a configuration, at a field path such as
// "apps[1].domains[0]".
type FieldError struct {
	// Path is the field path in YAML keys, with list indexes and quoted
	// map keys; "" for the document as a whole (a syntax error).
	Path string
	// Line is the line in the file, or 0 when unknown (a default value,
	// or a configuration not read from a file).
	Line int
	// Message says what is wrong, without the path.
	Message string
	// Err is the sentinel error (or the forcehttps error) this one wraps.
	Err error
}

// Error formats the error as "path: message (line N)".
func (e *FieldError) Error() string {
	var b strings.Builder
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	if e.Line > 0 {
		fmt.Fprintf(&b, " (line %d)", e.Line)
	}
	return b.String()
}

// Unwrap returns the wrapped error.
func (e *FieldError) Unwrap() error { return e.Err }

// ValidationError lists every problem found in a configuration.
type ValidationError struct {
	// File is the file read, or "" for [Parse].
	File string
	// Errors are the problems, in the order of the file.
	Errors []*FieldError
}

// Error lists the problems, one per line after the first.
func (e *ValidationError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	if len(e.Errors) == 1 {
		b.WriteString("invalid configuration: ")
		b.WriteString(e.Errors[0].Error())
		return b.String()
	}
	fmt.Fprintf(&b, "invalid configuration (%d errors):", len(e.Errors))
	for _, fe := range e.Errors {
		b.WriteString("\n  ")
		b.WriteString(fe.Error())
	}
	return b.String()
}

// Unwrap returns the field errors, so that errors.Is and errors.As see
// each of them.
func (e *ValidationError) Unwrap() []error {
	out := make([]error, len(e.Errors))
	for i, fe := range e.Errors {
		out[i] = fe
	}
	return out
}

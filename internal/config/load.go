package config

import (
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Format is the syntax of a configuration file.
type Format string

// The supported formats.
const (
	YAML Format = "yaml"
	JSON Format = "json"
)

// FormatOf returns the format of a file by its extension: JSON for
// ".json", YAML for anything else.
func FormatOf(path string) Format {
	if strings.EqualFold(filepath.Ext(path), ".json") {
		return JSON
	}
	return YAML
}

// Parse decodes and validates a configuration. It returns every problem at
// once as a [*ValidationError]. Relative file paths in the configuration
// are kept as they are (relative to the working directory); [Load]
// resolves them against the file's directory instead.
func Parse(data []byte, format Format) (*Config, error) {
	c, errs := parse(data, format)
	if len(errs) > 0 {
		return nil, &ValidationError{Errors: errs}
	}
	return c, nil
}

// parse is Parse with the errors as a list.
func parse(data []byte, format Format) (*Config, []*FieldError) {
	if format != YAML && format != JSON {
		return nil, []*FieldError{{Message: fmt.Sprintf("unknown format %q", format), Err: ErrSyntax}}
	}
	c := &Config{}
	c.setDefaults()
	lines, errs := decodeDocument(data, format, c)
	if lines == nil { // the document did not parse
		return nil, errs
	}
	c.normalize()
	v := &validator{lines: lines, errs: errs, decoded: len(errs)}
	c.validate(v)
	if len(v.errs) > 0 {
		return nil, capErrors(v.sorted())
	}
	return c, nil
}

// maxErrors is the number of errors reported; a file that has more is
// probably not an edge configuration at all.
const maxErrors = 50

// capErrors keeps the first maxErrors errors and counts the others.
func capErrors(errs []*FieldError) []*FieldError {
	if len(errs) <= maxErrors {
		return errs
	}
	more := &FieldError{Message: fmt.Sprintf("and %d more errors", len(errs)-maxErrors), Err: ErrTooManyErrors}
	return append(errs[:maxErrors:maxErrors], more)
}

// Load reads, decodes and validates the configuration file at path; the
// format follows the extension ([FormatOf]). Relative paths in the file
// (certificate files, ACME storage and CA root, the access log file) are
// resolved against the file's directory, and the certificate and CA
// files must be readable. Problems in the file are returned together as a
// [*ValidationError] whose File is path.
func Load(path string) (*Config, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	c, errs := parse(data, FormatOf(path))
	if len(errs) > 0 {
		return nil, &ValidationError{File: path, Errors: errs}
	}
	c.resolve(filepath.Dir(path))
	if errs := c.checkFiles(); len(errs) > 0 {
		return nil, &ValidationError{File: path, Errors: errs}
	}
	return c, nil
}

// readFile reads at most maxInput+1 bytes of a regular file.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("config: %q is not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxInput+1))
	if err != nil {
		return nil, fmt.Errorf("config: read %q: %w", path, err)
	}
	return data, nil
}

// resolve makes the relative file paths of c relative to dir.
func (c *Config) resolve(dir string) {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	for i := range c.TLS.Certificates {
		abs(&c.TLS.Certificates[i].CertFile)
		abs(&c.TLS.Certificates[i].KeyFile)
	}
	if a := c.TLS.ACME; a != nil {
		abs(&a.Storage)
		abs(&a.CARoot)
	}
	abs(&c.Admin.TokenFile)
	abs(&c.Admin.StateFile)
	if c.Cluster != nil {
		abs(&c.Cluster.PostgresFile)
	}
	switch c.AccessLog.Output {
	case "stderr", "stdout", "off":
	default:
		abs(&c.AccessLog.Output)
	}
}

// checkFiles reports certificate, CA and database URL files that cannot
// be read.
func (c *Config) checkFiles() []*FieldError {
	var errs []*FieldError
	check := func(path, file string, kind error) {
		f, err := os.Open(file)
		if err == nil {
			f.Close()
			return
		}
		errs = append(errs, &FieldError{Path: path, Message: fmt.Sprintf("cannot read %q: %v", file, errors.Unwrap(err)), Err: kind})
	}
	for i, cf := range c.TLS.Certificates {
		check(fmt.Sprintf("tls.certificates[%d].cert_file", i), cf.CertFile, ErrTLS)
		check(fmt.Sprintf("tls.certificates[%d].key_file", i), cf.KeyFile, ErrTLS)
	}
	if a := c.TLS.ACME; a != nil && a.CARoot != "" {
		check("tls.acme.ca_root", a.CARoot, ErrTLS)
	}
	if cl := c.Cluster; cl != nil && cl.PostgresFile != "" {
		check("cluster.postgres_file", cl.PostgresFile, ErrValue)
	}
	return errs
}

//go:embed default.yaml
var defaultYAML []byte

// Default returns the embedded default configuration, what the edge runs
// without a configuration file: HTTP on 127.0.0.1:8080, HTTPS on
// 127.0.0.1:8443 with a self-signed certificate for localhost, 127.0.0.1
// and ::1, and one app, "inspector", in front of the built-in header
// inspector, with Force HTTPS on even for those development hosts. Each
// call returns a new Config.
func Default() *Config {
	c, err := Parse(defaultYAML, YAML)
	if err != nil {
		// The embedded file is part of the program and tested.
		panic("config: the embedded default does not parse: " + err.Error())
	}
	return c
}

// DefaultYAML returns the source of the embedded default configuration.
func DefaultYAML() []byte { return slices.Clone(defaultYAML) }

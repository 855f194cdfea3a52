package config

import (
	"bytes"
	_ "embed"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
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
	c, errs := parse(data, format, nil)
	if len(errs) > 0 {
		return nil, &ValidationError{Errors: errs}
	}
	return c, nil
}

// fileCheck is what [Load] checks beyond [Parse]: the files the
// configuration names, with relative paths resolved against dir, and
// certificates valid at now. The validator carries it, with what the
// certificate files said.
type fileCheck struct {
	dir string
	now time.Time

	names   []string // of the good certificate pairs
	badPair bool     // some pair could not be used
}

// parse is Parse with the errors as a list; with fc, it is Load's
// parsing, which also resolves and checks the files, in the same pass.
func parse(data []byte, format Format, fc *fileCheck) (*Config, []*FieldError) {
	if format != YAML && format != JSON {
		return nil, []*FieldError{{Message: fmt.Sprintf("unknown format %q", format), Err: ErrSyntax}}
	}
	c := &Config{}
	c.setDefaults()
	root, errs := decodeDocument(data, format, c)
	if root == nil { // the document did not parse
		return nil, errs
	}
	c.normalize()
	if fc != nil {
		c.resolve(fc.dir)
	}
	v := &validator{root: root, errs: errs, decoded: len(errs), files: fc}
	if len(data) >= largeDocument {
		// The node tree is garbage once decoded unless an error needs a
		// line: it is collected now, and parsed again for an error's
		// line, so that validating and building the routing table reuse
		// its memory rather than grow the heap. For 100 000 domains, the
		// tree is 50 MB and the collection, about 15 ms, saves more in
		// page faults on fresh memory than it costs, and 40 MB of peak.
		v.root, root = nil, nil
		v.document = func() *yaml.Node {
			again := &Config{}
			again.setDefaults()
			r, _ := decodeDocument(data, format, again)
			return r
		}
		runtime.GC()
	}
	c.validate(v)
	if len(v.errs) > 0 {
		return nil, capErrors(v.sorted())
	}
	c.markChecked()
	return c, nil
}

// largeDocument is the size from which parse collects the document's
// node tree before validating (about 3000 apps).
const largeDocument = 1 << 20

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
// resolved against the file's directory. Beyond what [Parse] checks, the
// certificate and CA files must be readable, each certificate file must
// hold a certificate that names something and is valid now, with its key
// in the key file, and every domain that Force HTTPS redirects to must be
// covered by a certificate source (see "Certificates" in the package
// documentation). Every problem in the file is returned in one
// [*ValidationError] whose File is path.
func Load(path string) (*Config, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	c, errs := parse(data, FormatOf(path), &fileCheck{dir: filepath.Dir(path), now: time.Now()})
	if len(errs) > 0 {
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
	// Sized for the file, which would otherwise be copied as it is read:
	// a table of many apps is megabytes.
	var buf bytes.Buffer
	buf.Grow(int(min(max(fi.Size(), 0), maxInput)) + bytes.MinRead + 1)
	if _, err := buf.ReadFrom(io.LimitReader(f, maxInput+1)); err != nil {
		return nil, fmt.Errorf("config: read %q: %w", path, err)
	}
	return buf.Bytes(), nil
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
	abs(&c.Admin.PreflightCAFile)
	abs(&c.Admin.TokensFile)
	abs(&c.Admin.AuditLog)
	if t := c.Admin.TLS; t != nil {
		abs(&t.CertFile)
		abs(&t.KeyFile)
	}
	if c.Cluster != nil {
		abs(&c.Cluster.PostgresFile)
	}
	switch c.AccessLog.Output {
	case "stderr", "stdout", "off":
	default:
		abs(&c.AccessLog.Output)
	}
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

package config

import (
	"bytes"
	"encoding/json"
	"strings"
)

// DecodeApp decodes one app written in JSON with the keys of an entry of
// "apps" in the configuration file, with the same defaults (force_https:
// true, the HSTS max-age ...). It checks types and key names only:
// validate the app within a whole configuration ([Config.Validate]), so
// that the rules across apps apply. Errors are a [*ValidationError] whose
// paths are relative to the app ("domains[1]", "hsts.max_age").
func DecodeApp(data []byte) (*App, error) {
	data = bytes.TrimSpace(data)
	// One JSON object, so that nothing outside the app can be written
	// into the document it is decoded from.
	if !json.Valid(data) || len(data) == 0 || data[0] != '{' {
		return nil, &ValidationError{Errors: []*FieldError{{Message: "an app must be a JSON object", Err: ErrSyntax}}}
	}
	doc := make([]byte, 0, len(data)+12)
	doc = append(doc, `{"apps":[`...)
	doc = append(doc, bytes.TrimSpace(data)...)
	doc = append(doc, "]}"...)
	c := &Config{}
	c.setDefaults()
	root, errs := decodeDocument(doc, JSON, c)
	if root == nil || len(errs) > 0 {
		for _, e := range errs {
			e.Path = RelativePath(e.Path, "apps[0]")
			e.Line = 0
		}
		if len(errs) == 0 {
			errs = []*FieldError{{Message: "an app must be a JSON object", Err: ErrSyntax}}
		}
		return nil, &ValidationError{Errors: errs}
	}
	if len(c.Apps) != 1 {
		return nil, &ValidationError{Errors: []*FieldError{{Message: "an app must be a JSON object", Err: ErrSyntax}}}
	}
	c.normalize()
	return &c.Apps[0], nil
}

// RelativePath returns path relative to prefix ("apps[3].domains[1]"
// relative to "apps[3]" is "domains[1]"), or "" if path is prefix, or
// path itself if it is not under prefix.
func RelativePath(path, prefix string) string {
	if path == prefix {
		return ""
	}
	if rest, ok := strings.CutPrefix(path, prefix); ok && (strings.HasPrefix(rest, ".") || strings.HasPrefix(rest, "[")) {
		return strings.TrimPrefix(rest, ".")
	}
	return path
}

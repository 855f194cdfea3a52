package certs

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/forcehttps/forcehttps/internal/testutil"
)

// TestUpdateDomains checks that a delta leaves the managed names that
// ManageDomains with the whole new list would. The ACME directory does
// not answer: orders fail in the background, which Managed ignores.
func TestUpdateDomains(t *testing.T) {
	t.Parallel()
	ca := testutil.NewCA(t, testutil.CAOptions{})
	dir := t.TempDir()
	leaf := ca.Issue(t, testutil.LeafOptions{Names: []string{"*.covered.test"}})
	files := []Pair{writePair(t, dir, "covered", leaf.ChainPEM(), leaf.KeyPEM())}
	root := ca.WriteFile(t)

	tests := []struct {
		name        string
		add, remove []string
		want        []string
		wantErr     bool
	}{
		{"add one", []string{"c.test"}, nil, []string{"a.test", "b.test", "c.test"}, false},
		{"remove one", nil, []string{"B.test."}, []string{"a.test"}, false},
		{"add and remove", []string{"c.test"}, []string{"a.test"}, []string{"b.test", "c.test"}, false},
		{"in both lists: managed", []string{"a.test"}, []string{"a.test"}, []string{"a.test", "b.test"}, false},
		{"remove unknown", nil, []string{"nope.test"}, []string{"a.test", "b.test"}, false},
		{"add covered by a file", []string{"x.covered.test"}, nil, []string{"a.test", "b.test"}, false},
		{"add wildcard", []string{"*.other.test"}, nil, []string{"a.test", "b.test"}, false},
		{"invalid name changes nothing", []string{"c.test", "bad name"}, []string{"a.test"}, []string{"a.test", "b.test"}, true},
		{"nothing", nil, nil, []string{"a.test", "b.test"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// Orders that fail in the background may still write to the
			// storage after Close: it is removed as far as it can be.
			storage, err := os.MkdirTemp("", "forcehttps-delta-")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(storage) })
			a := ACME{CARootFile: root, Directory: "https://127.0.0.1:1/directory", Storage: storage}
			m, err := New(context.Background(), Options{Files: files, ACME: &a, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if err := m.ManageDomains(context.Background(), []string{"a.test", "b.test"}); err != nil {
				t.Fatal(err)
			}
			err = m.UpdateDomains(context.Background(), tt.add, tt.remove)
			if (err != nil) != tt.wantErr {
				t.Fatalf("UpdateDomains(%q, %q) = %v, want error %v", tt.add, tt.remove, err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, m.Managed()); diff != "" {
				t.Errorf("Managed() after UpdateDomains(%q, %q) mismatch (-want +got):\n%s", tt.add, tt.remove, diff)
			}
			// Every managed name has a state, and no other name has one.
			var stated []string
			for name := range m.DomainStates() {
				stated = append(stated, name)
			}
			slices.Sort(stated)
			if diff := cmp.Diff(tt.want, stated); diff != "" {
				t.Errorf("DomainStates() names after UpdateDomains(%q, %q) mismatch (-want +got):\n%s", tt.add, tt.remove, diff)
			}
		})
	}
}

func TestUpdateDomainsWithoutACME(t *testing.T) {
	t.Parallel()
	m, err := New(context.Background(), Options{SelfSigned: []string{"localhost"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.UpdateDomains(context.Background(), []string{"shop.example.com"}, []string{"old.example.com"}); err != nil {
		t.Errorf("UpdateDomains without ACME: %v", err)
	}
	if err := m.UpdateDomains(context.Background(), []string{"bad name"}, nil); err == nil {
		t.Error("UpdateDomains without ACME accepted an invalid name")
	}
	m.Close()
	if err := m.UpdateDomains(context.Background(), nil, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("UpdateDomains after Close: %v, want ErrClosed", err)
	}
}

package edge

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/forcehttps/forcehttps/internal/config"
)

// TestReloadErrorPrefix checks that a refused reload says "edge: reload:"
// once, whatever part of the edge found the problem.
func TestReloadErrorPrefix(t *testing.T) {
	t.Parallel()
	var refuse atomic.Bool
	h := startEdge(t, appsConfig(t), WithOverlay(func(c *config.Config) *config.Config {
		if refuse.Load() {
			return nil
		}
		return c
	}))
	refuse.Store(true)
	err := h.srv.Reload(context.Background(), mustParse(t, base+appsConfig(t)))
	if err == nil || err.Error() != "edge: reload: the overlay returned no configuration" {
		t.Errorf("Reload with a failing overlay = %v, want \"edge: reload: the overlay returned no configuration\"", err)
	}
}

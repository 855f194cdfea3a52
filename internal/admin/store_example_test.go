package admin_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/forcehttps/forcehttps/internal/admin"
)

// Two changes of one app based on the same version: the second is refused
// with the state the first committed, instead of silently undoing it.
func ExampleFileStore() {
	ctx := context.Background()
	store, _ := admin.NewFileStore("") // in memory; a path writes the state file
	base := store.Current().Version

	on, off := true, false
	snap, err := store.Update(ctx, "shop", &admin.AppState{ForceHTTPS: &on}, base)
	fmt.Println(snap.Version, err)

	_, err = store.Update(ctx, "shop", &admin.AppState{ForceHTTPS: &off}, base)
	var conflict *admin.ConflictError
	if errors.As(err, &conflict) {
		fmt.Println("conflict; now", *conflict.Current.State.Apps["shop"].ForceHTTPS, "at version", conflict.Current.Version)
	}
	// Output:
	// 1 <nil>
	// conflict; now true at version 1
}

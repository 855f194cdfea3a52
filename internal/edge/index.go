package edge

import (
	"hash/maphash"
	"maps"
)

// indexShards is the number of shards of an [index]: a change copies the
// array of shard pointers (8 KiB) and the shards it touches, about
// n/indexShards entries each, instead of the whole table.
const indexShards = 1024

// index is an immutable map from strings to values, split in shards by a
// hash of the key so that a new version that differs in a few keys
// shares every other shard with the previous one. Snapshots use it for
// their hosts and app names: a one-app change costs in proportion to the
// app, not to the table. The zero index is empty; read it from any
// number of goroutines.
type index[V any] struct {
	seed   maphash.Seed
	shards *[indexShards]map[string]V // nil: empty
	n      int
}

// newIndex returns an empty index whose versions all hash with one seed.
func newIndex[V any]() index[V] { return index[V]{seed: maphash.MakeSeed()} }

func (x *index[V]) shard(key string) int {
	return int(maphash.String(x.seed, key) & (indexShards - 1))
}

// get returns the value of key.
func (x *index[V]) get(key string) (V, bool) {
	if x.shards == nil {
		var zero V
		return zero, false
	}
	v, ok := x.shards[x.shard(key)][key]
	return v, ok
}

// len returns the number of keys.
func (x *index[V]) len() int { return x.n }

// all calls f for every key and value, in no particular order, until f
// returns false.
func (x *index[V]) all(f func(string, V) bool) {
	if x.shards == nil {
		return
	}
	for _, m := range x.shards {
		for k, v := range m {
			if !f(k, v) {
				return
			}
		}
	}
}

// indexEdit is one change of an index: set key to v, or delete it.
type indexEdit[V any] struct {
	key    string
	v      V
	delete bool
}

// with returns a new index with edits applied in order; x is unchanged.
// Only the shards the edits touch are copied.
func (x index[V]) with(edits []indexEdit[V]) index[V] {
	if len(edits) == 0 {
		return x
	}
	out := index[V]{seed: x.seed, n: x.n, shards: new([indexShards]map[string]V)}
	if x.shards != nil {
		*out.shards = *x.shards
	}
	var copied [indexShards / 64]uint64 // shards already copied
	for _, e := range edits {
		i := out.shard(e.key)
		if copied[i/64]&(1<<(i%64)) == 0 {
			copied[i/64] |= 1 << (i % 64)
			m := maps.Clone(out.shards[i]) // a copy of the table, faster than inserting
			if m == nil {
				// A full build fills empty shards evenly: sized for
				// their share (and some), a shard does not grow.
				per := len(edits) / indexShards
				m = make(map[string]V, per+per/8+1)
			}
			out.shards[i] = m
		}
		// One map operation per edit, counted by the map's length: a
		// full build makes 100 000 of them on maps too large for the
		// cache.
		m := out.shards[i]
		before := len(m)
		if e.delete {
			delete(m, e.key)
		} else {
			m[e.key] = e.v
		}
		out.n += len(m) - before
	}
	return out
}

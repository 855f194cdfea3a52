package config

import (
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"math"
	"reflect"
)

// checkSeed seeds the fingerprints of validated configurations. It is
// drawn when the program starts, so that no file can be written to give
// another configuration the same fingerprint.
var checkSeed = maphash.MakeSeed()

// checkedField is the index of Config.checked, which its fingerprint
// leaves out.
var checkedField = func() int {
	f, ok := reflect.TypeFor[Config]().FieldByName("checked")
	if !ok {
		panic("config: Config has no checked field")
	}
	return f.Index[0]
}()

// Checked reports whether c holds what [Load] or [Parse] returned and
// validated: the same value in every field, whether c is that Config or
// a copy of it. It is false for a Config built in code and for one
// changed since, whatever the field (a list grown, a string replaced in
// place), and says nothing of files that changed since Load read them.
// It compares a fingerprint of c's content with the one taken when it was
// validated, which takes a few milliseconds for 100 000 domains where
// validating takes a hundred or more: the edge uses it to validate only
// what is not known valid.
func (c *Config) Checked() bool {
	return c.checked != 0 && c.checked == c.fingerprint()
}

// markChecked records that c is valid as it is now.
func (c *Config) markChecked() { c.checked = c.fingerprint() }

// fingerprint returns a hash of every field of c but checked; never 0.
func (c *Config) fingerprint() uint64 {
	f := fingerprinter{}
	f.h.SetSeed(checkSeed)
	v := reflect.ValueOf(c).Elem()
	for i := range v.NumField() {
		if i != checkedField {
			f.value(v.Field(i))
		}
	}
	if sum := f.h.Sum64(); sum != 0 {
		return sum
	}
	return 1
}

// fingerprinter hashes values of the configuration's types, so that two
// values hash alike only when they are equal: strings and lists carry
// their length, pointers and lists whether they are nil, and a map's
// entries are combined in an order-independent way.
type fingerprinter struct {
	h   maphash.Hash
	buf [8]byte
}

func (f *fingerprinter) uint(u uint64) {
	binary.LittleEndian.PutUint64(f.buf[:], u)
	f.h.Write(f.buf[:])
}

func (f *fingerprinter) value(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map:
		if v.IsNil() {
			f.uint(0)
			return
		}
	}
	switch v.Kind() {
	case reflect.String:
		s := v.String()
		f.uint(uint64(len(s)))
		f.h.WriteString(s)
	case reflect.Bool:
		if v.Bool() {
			f.uint(1)
		} else {
			f.uint(0)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		f.uint(uint64(v.Int()))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		f.uint(v.Uint())
	case reflect.Float32, reflect.Float64:
		f.uint(math.Float64bits(v.Float()))
	case reflect.Pointer:
		f.uint(1)
		f.value(v.Elem())
	case reflect.Struct:
		for i := range v.NumField() {
			f.value(v.Field(i))
		}
	case reflect.Slice:
		f.uint(uint64(v.Len()) + 1)
		for i := range v.Len() {
			f.value(v.Index(i))
		}
	case reflect.Map:
		f.uint(uint64(v.Len()) + 1)
		// Each entry is hashed alone and the hashes added up: the sum
		// does not depend on the map's order.
		var sum uint64
		for it := v.MapRange(); it.Next(); {
			e := fingerprinter{}
			e.h.SetSeed(checkSeed)
			e.value(it.Key())
			e.value(it.Value())
			sum += e.h.Sum64()
		}
		f.uint(sum)
	default:
		// A field of a new kind: TestFingerprintSeesEveryField fails
		// first.
		panic(fmt.Sprintf("config: fingerprint: a field of kind %s", v.Kind()))
	}
}

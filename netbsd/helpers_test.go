package netbsd

import (
	"testing"
	"unsafe"
)

// rawBytes returns the in-memory bytes of a x/sys/unix structure, which on
// this amd64 build is the Linux kernel's layout. Comparing an encoder's output
// with them checks the layout independently of the encoder.
func rawBytes[T any](v *T) []byte {
	return append([]byte(nil), unsafe.Slice((*byte)(unsafe.Pointer(v)), unsafe.Sizeof(*v))...)
}

// mustNot fails the test when err is not nil.
func mustNot(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// constCheck pairs a constant with the value the document gives it.
type constCheck struct {
	name      string
	got, want int64
}

// checkConsts reports every constant that differs from its documented value.
// Written as a table rather than as comparisons of constants, which vet
// rightly suspects.
func checkConsts(t *testing.T, checks []constCheck) {
	t.Helper()
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %#x, the document says %#x", c.name, c.got, c.want)
		}
	}
}

package sysproxy

import (
	"encoding/hex"
	"io"
	"strings"
	"testing"
)

// unhex decodes hex digits, ignoring spaces and '|', so that expected frames
// can be written field by field as SYSPROXY captures show them.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	s = strings.NewReplacer(" ", "", "|", "", "\n", "", "\t", "").Replace(s)
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex in test: %v", err)
	}
	return b
}

// raw builds a frame with a consistent length from its parts, for inputs that
// no constructor of the package would produce.
func raw(reqno uint64, class Class, typ Type, u uint32, payload []byte) Frame {
	return newFrame(reqno, class, typ, u, payload)
}

// zeros returns n zero bytes.
func zeros(n int) []byte { return make([]byte, n) }

// onlyReader hides every method of r but Read, so that code under test
// cannot use io.ByteReader or io.WriterTo shortcuts.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

package netbsd

import (
	"errors"
	"fmt"
)

// Errors returned, wrapped with context, by the converters of this package.
var (
	// ErrShort means a buffer is shorter than the structure it should hold.
	ErrShort = errors.New("short buffer")
	// ErrNoEquivalent means a value has no counterpart in the other ABI, so
	// the caller must emulate the call or refuse it.
	ErrNoEquivalent = errors.New("no equivalent in the other ABI")
	// ErrInvalid means a value is malformed on its own terms, for instance a
	// record length that points past its buffer.
	ErrInvalid = errors.New("invalid value")
)

// BitsError reports flag bits that have no counterpart in the other ABI. It
// wraps ErrNoEquivalent.
type BitsError struct {
	// What names the flag word, e.g. "open flags".
	What string
	// Bits holds the bits that could not be translated, in the input's ABI.
	Bits uint64
}

// Error names the flag word and the bits, so a log line says what a program
// asked for.
func (e *BitsError) Error() string {
	return fmt.Sprintf("%s %#x: %v", e.What, e.Bits, ErrNoEquivalent)
}

// Unwrap lets errors.Is(err, ErrNoEquivalent) hold for every BitsError.
func (e *BitsError) Unwrap() error { return ErrNoEquivalent }

// shortError is the error of every decoder handed fewer bytes than it needs.
func shortError(what string, need, have int) error {
	return fmt.Errorf("%s: need %d bytes, have %d: %w", what, need, have, ErrShort)
}

// bitsError returns nil when nothing was left over, so converters can return
// its result directly.
func bitsError(what string, rest uint64) error {
	if rest == 0 {
		return nil
	}
	return &BitsError{What: what, Bits: rest}
}

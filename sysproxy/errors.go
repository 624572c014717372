package sysproxy

import "errors"

// Sentinel errors. Every error this package returns wraps exactly one of
// them, or an error of the io.Reader or io.Writer it was given, so callers
// test with errors.Is.
var (
	// ErrBanner means the server's first line is not a sysproxy banner. The
	// peer is not a rump kernel server, or the stream is out of step.
	ErrBanner = errors.New("not a sysproxy banner")

	// ErrVersion means the banner announces a protocol major version other
	// than ProtoMajor, whose frames this package cannot read.
	ErrVersion = errors.New("unsupported sysproxy protocol version")

	// ErrShortFrame means a frame header claims a length below HeaderSize.
	// Both reference implementations drop the connection on it, since the
	// stream cannot be resynchronised.
	ErrShortFrame = errors.New("frame length below header size")

	// ErrFrameTooLarge means a frame header claims a payload above the
	// reader's bound. The frame was not read; the stream is out of step.
	ErrFrameTooLarge = errors.New("frame payload above limit")

	// ErrMalformed means a frame of a known class and type has a payload
	// whose size or content does not match the message. The frame itself
	// was read whole, so the stream is still in step.
	ErrMalformed = errors.New("malformed sysproxy message")

	// ErrUnexpected means a frame's class, type or handshake kind is one
	// the receiving side never accepts: unknown, or a message that only
	// flows in the other direction.
	ErrUnexpected = errors.New("unexpected sysproxy message")

	// ErrRefused means CheckClientFrame or CheckReply refused a frame that
	// would crash, corrupt or derail a server that trusts its clients.
	ErrRefused = errors.New("frame refused before sending")
)

// Package control is the protocol between hijack-exec and hijackd on hijackd's
// control socket, a unix SOCK_SEQPACKET socket. One connection registers one
// session:
//
//	hijack-exec                      hijackd
//	Register (policy, environment) →
//	                               ← Filter (BPF program) or Error
//	Listener (+ the fd, SCM_RIGHTS) →
//	                               ← Ack (session number) or Error
//
// A connection may instead ask for the list of live sessions:
//
//	List →
//	                               ← Sessions
//
// Each message is one packet: an 8-byte header (magic "HJAK", version,
// type) and a JSON body. Both sides bound every packet to MaxMessage and
// refuse anything out of order, so a misbehaving peer costs hijackd one
// connection and nothing else.
package control

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
)

// Version is the protocol version this package speaks. A peer speaking
// another one is refused with a message naming both.
const Version = 1

// MaxMessage bounds one packet. The largest message is Filter: a BPF program
// of at most 4096 instructions is 32 KiB, 44 KiB in JSON's base64.
const MaxMessage = 128 << 10

// DefaultSocket is where hijackd listens and hijack-exec connects unless told
// otherwise (hijackd --socket, HIJACKD_SOCKET).
const DefaultSocket = "/run/hijackd/control.sock"

// SocketEnv names the environment variable that tells hijack-exec where
// hijackd listens.
const SocketEnv = "HIJACKD_SOCKET"

const headerSize = 8

var magic = [4]byte{'H', 'J', 'A', 'K'}

// Type identifies a message.
type Type uint16

// The messages, in the order a registration exchanges them.
const (
	TypeRegister Type = iota + 1
	TypeFilter
	TypeListener
	TypeAck
	TypeError
	TypeList
	TypeSessions
)

func (t Type) String() string {
	switch t {
	case TypeRegister:
		return "register"
	case TypeFilter:
		return "filter"
	case TypeListener:
		return "listener"
	case TypeAck:
		return "ack"
	case TypeError:
		return "error"
	case TypeList:
		return "list"
	case TypeSessions:
		return "sessions"
	}
	return fmt.Sprintf("type %d", uint16(t))
}

// Register opens a registration. The variables are passed as hijack-exec
// found them, set or not, and hijackd parses them again itself.
type Register struct {
	Policy        string   `json:"policy"`
	PolicySet     bool     `json:"policy_set"`
	RumpServer    string   `json:"rump_server"`
	RumpServerSet bool     `json:"rump_server_set"`
	Retry         string   `json:"retry"`
	RetrySet      bool     `json:"retry_set"`
	Argv          []string `json:"argv"`
	Cwd           string   `json:"cwd"`
}

// Filter answers Register with the program to install.
type Filter struct {
	Program []byte `json:"program"`
}

// Listener carries the listener descriptor in its control data; the body is
// empty.
type Listener struct{}

// Ack completes a registration: hijackd serves the listener from now on.
type Ack struct {
	Session uint64 `json:"session"`
}

// Error refuses a registration. Message is for the user and says what to do.
type Error struct {
	Message string `json:"message"`
}

// List asks for the live sessions.
type List struct{}

// Sessions answers List.
type Sessions struct {
	Sessions []SessionInfo `json:"sessions"`
}

// SessionInfo describes one live session.
type SessionInfo struct {
	ID        uint64   `json:"id"`
	Program   string   `json:"program"`
	Argv      []string `json:"argv"`
	PID       int      `json:"pid"`
	UID       uint32   `json:"uid"`
	Policy    string   `json:"policy"`
	Server    string   `json:"server"`
	Started   string   `json:"started"` // RFC 3339
	Served    int      `json:"served"`
	Withdrawn int      `json:"withdrawn"`
	Processes int      `json:"processes"`
	Shadows   int64    `json:"shadows"`
}

// ErrMalformed reports a packet that is not a message of this protocol.
var ErrMalformed = errors.New("malformed control message")

// Marshal encodes one message.
func Marshal(t Type, body any) ([]byte, error) {
	var buf bytes.Buffer
	buf.Write(magic[:])
	binary.Write(&buf, binary.LittleEndian, uint16(Version))
	binary.Write(&buf, binary.LittleEndian, uint16(t))
	if err := json.NewEncoder(&buf).Encode(body); err != nil {
		return nil, fmt.Errorf("encode %v message: %w", t, err)
	}
	if buf.Len() > MaxMessage {
		return nil, fmt.Errorf("encode %v message: %d bytes, more than the limit of %d",
			t, buf.Len(), MaxMessage)
	}
	return buf.Bytes(), nil
}

// Unmarshal checks the header of packet msg, requires its type to be want (or
// TypeError, which it returns as an error carrying the peer's message), and
// decodes the body into body, refusing unknown fields.
func Unmarshal(msg []byte, want Type, body any) error {
	t, err := TypeOf(msg)
	if err != nil {
		return err
	}
	if t == TypeError && want != TypeError {
		var e Error
		if err := decode(msg[headerSize:], &e); err != nil {
			return fmt.Errorf("%w: error message: %v", ErrMalformed, err)
		}
		return &RefusedError{Message: e.Message}
	}
	if t != want {
		return fmt.Errorf("%w: got %v, want %v", ErrMalformed, t, want)
	}
	if err := decode(msg[headerSize:], body); err != nil {
		return fmt.Errorf("%w: %v body: %v", ErrMalformed, t, err)
	}
	return nil
}

// TypeOf checks the header of packet msg and returns its type.
func TypeOf(msg []byte) (Type, error) {
	if len(msg) < headerSize || !bytes.Equal(msg[:4], magic[:]) {
		return 0, fmt.Errorf("%w: no protocol header in %d bytes", ErrMalformed, len(msg))
	}
	if v := binary.LittleEndian.Uint16(msg[4:]); v != Version {
		return 0, fmt.Errorf("%w: protocol version %d, this side speaks %d "+
			"(hijack-exec and hijackd must come from the same release)", ErrMalformed, v, Version)
	}
	return Type(binary.LittleEndian.Uint16(msg[6:])), nil
}

func decode(b []byte, body any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(body); err != nil {
		return err
	}
	if d.More() {
		return errors.New("trailing data after the body")
	}
	return nil
}

// RefusedError is the peer's Error message.
type RefusedError struct {
	Message string
}

func (e *RefusedError) Error() string { return e.Message }

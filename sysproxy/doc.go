// Package sysproxy owns the rump kernel sysproxy wire protocol (rump_sp(7)):
// the banner, frames, message types and their payloads, and the handshakes.
// It is shared by the client, which performs system calls in a rump kernel,
// and by the embedded server, which answers them.
//
// It does no system call translation: argument slots, syscall numbers and
// errno values arrive here already in NetBSD form, and giving them meaning is
// the job of package netbsd. It owns no connection policy either: dialing,
// reconnecting, request ids and connection pools belong to the client and the
// server. What it offers is io.Reader and io.Writer helpers and pure codecs.
//
// # Layout of a connection
//
// The server writes one unframed ASCII banner line (see ReadBanner); after it
// both directions carry frames: a 24-byte Header followed by a payload. There
// is no byte-order conversion in the protocol; integers and structures travel
// as raw C memory of the server's ABI. This package speaks the amd64 ABI
// only: little-endian, 8-byte pointers, size_t and register_t, 4-byte int.
//
// # Messages
//
// Each message of the protocol has a Go type that encodes itself with its
// Frame method. The messages a client sends implement ClientMessage and are
// decoded by DecodeClientMessage, which a server uses; the messages a server
// sends implement ServerMessage and are decoded by DecodeServerMessage, which a
// client uses. Decoders check every size the protocol fixes and return an
// error wrapping ErrMalformed or ErrUnexpected otherwise, so a caller never
// reads past a payload.
//
// # The server trusts its clients
//
// A real rump_server does not validate what a client sends: a short frame, an
// empty process name or a short copyin reply crash it or corrupt its memory.
// A client therefore passes every frame through CheckClientFrame, and every
// reply to a server request through CheckReply, before writing it.
package sysproxy

package netbsd

import (
	"bytes"
	"encoding/binary"
)

// The sysctl tree's interface (sys/sysctl.h): CTL_QUERY lists a node's
// children as struct sysctlnode records, 96 bytes each on amd64.
const (
	CTL_QUERY      = -2
	CTL_MAXNAME    = 12
	SysctlNodeSize = 96

	CTLTYPE_MASK   = 0x0000000f
	CTLTYPE_NODE   = 1
	CTLTYPE_INT    = 2
	CTLTYPE_STRING = 3
	CTLTYPE_QUAD   = 4
	CTLTYPE_STRUCT = 5
	CTLTYPE_BOOL   = 6

	CTLFLAG_READWRITE = 0x00000070
	SYSCTL_VERS_1     = 0x01000000
)

// SysctlNode is what CTL_QUERY tells of one node.
type SysctlNode struct {
	Flags uint32
	Num   int32
	Name  string
}

// Type returns the node's CTLTYPE.
func (n SysctlNode) Type() uint32 { return n.Flags & CTLTYPE_MASK }

// Writable reports whether the node's value may be set.
func (n SysctlNode) Writable() bool { return n.Flags&CTLFLAG_READWRITE == CTLFLAG_READWRITE }

// DecodeSysctlNodes splits the records a CTL_QUERY returned; a trailing
// partial record is ignored.
func DecodeSysctlNodes(b []byte) []SysctlNode {
	var out []SysctlNode
	for ; len(b) >= SysctlNodeSize; b = b[SysctlNodeSize:] {
		name := b[8:40]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		out = append(out, SysctlNode{
			Flags: binary.LittleEndian.Uint32(b),
			Num:   int32(binary.LittleEndian.Uint32(b[4:])),
			Name:  string(name),
		})
	}
	return out
}

// SysctlQueryNode is the node a CTL_QUERY passes as its new value, asking
// for version 1 records.
func SysctlQueryNode() []byte {
	b := make([]byte, SysctlNodeSize)
	binary.LittleEndian.PutUint32(b, SYSCTL_VERS_1)
	return b
}

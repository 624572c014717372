package netbsd

// Device numbers. NetBSD's dev_t (makedev in sys/types.h) keeps a 12-bit
// major number in bits 8 to 19 and a 20-bit minor number in bits 0 to 7 and
// 20 to 31. The dev argument of Linux's mknod and mknodat is the kernel's
// 32-bit encoding, which puts the same numbers in the same bits; decoding
// one and encoding the other keeps that a fact checked by tests rather than
// an assumption.

// Makedev returns the NetBSD dev_t of major and minor. Bits that do not fit
// their field are cut, as the C macro cuts them.
func Makedev(major, minor uint32) uint64 {
	return uint64(major<<8&0x000fff00 | minor<<12&0xfff00000 | minor&0x000000ff)
}

// DevFromLinux translates the dev argument of Linux mknod and mknodat, which
// the kernel reads as a 32-bit value with the major number in bits 8 to 19
// and the minor number in bits 0 to 7 and 20 to 31.
func DevFromLinux(dev uint32) uint64 {
	major := dev >> 8 & 0xfff
	minor := dev&0xff | dev>>12&0xfff00
	return Makedev(major, minor)
}

package netbsd

import (
	"errors"
	"fmt"
	"testing"

	"golang.org/x/sys/unix"
)

// d14 is the ioctl table of D.14: the Linux number, the x/sys/unix constant
// where it exists, the NetBSD constant and the value the document gives it.
var d14 = []struct {
	name          string
	linux, unixed uint64
	netbsd, want  uint32
}{
	{"FIONREAD", 0x541B, LinuxFIONREAD, FIONREAD, 0x4004667f},
	{"FIONBIO", 0x5421, LinuxFIONBIO, FIONBIO, 0x8004667e},
	{"FIOASYNC", 0x5452, LinuxFIOASYNC, FIOASYNC, 0x8004667d},
	{"FIOCLEX", 0x5451, LinuxFIOCLEX, FIOCLEX, 0x20006601},
	{"FIONCLEX", 0x5450, LinuxFIONCLEX, FIONCLEX, 0x20006602},
	{"SIOCATMARK", 0x8905, unix.SIOCATMARK, SIOCATMARK, 0x40047307},
	{"SIOCGIFCONF", 0x8912, unix.SIOCGIFCONF, SIOCGIFCONF, 0xc0106926},
	{"SIOCGIFFLAGS", 0x8913, unix.SIOCGIFFLAGS, SIOCGIFFLAGS, 0xc0906911},
	{"SIOCSIFFLAGS", 0x8914, unix.SIOCSIFFLAGS, SIOCSIFFLAGS, 0x80906910},
	{"SIOCGIFADDR", 0x8915, unix.SIOCGIFADDR, SIOCGIFADDR, 0xc0906921},
	{"SIOCGIFNETMASK", 0x891b, unix.SIOCGIFNETMASK, SIOCGIFNETMASK, 0xc0906925},
	{"SIOCGIFMTU", 0x8921, unix.SIOCGIFMTU, SIOCGIFMTU, 0xc090697e},
	{"SIOCGIFINDEX", 0x8933, unix.SIOCGIFINDEX, SIOCGIFINDEX, 0xc090698c},
	{"TCGETS/TIOCGETA", 0x5401, unix.TCGETS, TIOCGETA, 0x402c7413},
}

func TestIoctlNumbersFollowD14(t *testing.T) {
	for _, tt := range d14 {
		t.Run(fmt.Sprintf("NetBSD %s is %#x", tt.name, tt.want), func(t *testing.T) {
			if tt.linux != tt.unixed {
				t.Errorf("the Linux constant is %#x, the document %#x", tt.unixed, tt.linux)
			}
			if tt.netbsd != tt.want {
				t.Errorf("= %#x", tt.netbsd)
			}
			rebuilt := IOC(IoctlDir(tt.want), IoctlGroup(tt.want), IoctlNum(tt.want),
				IoctlLen(tt.want))
			if rebuilt != tt.want {
				t.Errorf("IOC of its own parts = %#x", rebuilt)
			}
		})
	}
	checkConsts(t, []constCheck{
		{"FIONREAD built by IOR", int64(IOR('f', 127, 4)), FIONREAD},
		{"FIONBIO built by IOW", int64(IOW('f', 126, 4)), FIONBIO},
		{"FIOCLEX built by IO", int64(IO('f', 1)), FIOCLEX},
		{"SIOCGIFFLAGS built by IOWR", int64(IOWR('i', 17, 144)), SIOCGIFFLAGS},
		{"FIONWRITE", FIONWRITE, 0x40046679}, {"FIONSPACE", FIONSPACE, 0x40046678},
		{"IfreqSize", IfreqSize, 144}, {"IOCPARM_MASK", IOCPARM_MASK, 0x1fff},
	})
}

func TestIoctlTranslation(t *testing.T) {
	for _, tt := range d14[:6] {
		t.Run(fmt.Sprintf("Linux %s %#x becomes NetBSD %#x", tt.name, tt.linux, tt.want),
			func(t *testing.T) {
				if got, err := IoctlFromLinux(tt.linux); err != nil || got != tt.want {
					t.Errorf("IoctlFromLinux = %#x, %v", got, err)
				}
				if got, err := IoctlToLinux(tt.want); err != nil || got != tt.linux {
					t.Errorf("IoctlToLinux = %#x, %v", got, err)
				}
			})
	}
	for _, tt := range d14[6:] {
		t.Run(fmt.Sprintf("Linux %s is not renumbered, its structure differs", tt.name),
			func(t *testing.T) {
				if _, err := IoctlFromLinux(tt.linux); !errors.Is(err, ErrNoEquivalent) {
					t.Errorf("err = %v", err)
				}
			})
	}
	t.Run("the upper half of the command register is ignored, as Linux does", func(t *testing.T) {
		if got, err := IoctlFromLinux(0xdead_0000_0000_541b); err != nil || got != FIONREAD {
			t.Errorf("= %#x, %v", got, err)
		}
	})
}

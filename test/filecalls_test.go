package test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fileCallsScript makes the less common file calls on files in a new rump
// directory, its argument, most of them as raw system calls through ctypes,
// since Python and glibc reach several of them only through newer calls
// (utime and utimes through utimensat, for one), and prints what each did.
const fileCallsScript = `
import ctypes, errno, fcntl, os, stat, struct, subprocess, sys, termios, time

libc = ctypes.CDLL(None, use_errno=True)
SYS_UTIME, SYS_UTIMES, SYS_FUTIMESAT, SYS_GETDENTS = 132, 235, 261, 78
SYS_READAHEAD, SYS_SYNC_FILE_RANGE, SYS_FALLOCATE, SYS_OPENAT2 = 187, 277, 285, 437
AT_FDCWD = -100
RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS, RESOLVE_CACHED = 0x02, 0x04, 0x20

# errno.errorcode names 95 ENOTSUP, Linux's other name for EOPNOTSUPP.
def sys_call(nr, *args):
    r = libc.syscall(ctypes.c_long(nr), *args)
    return r if r >= 0 else errno.errorcode[ctypes.get_errno()]

def attempt(f, *args):
    try:
        f(*args)
        return "ok"
    except OSError as e:
        return errno.errorcode[e.errno]

def path(p):
    return ctypes.c_char_p(p.encode())

d = sys.argv[1]
os.mkdir(d)
fd = os.open(d + "/f", os.O_RDWR | os.O_CREAT, 0o644)
os.write(fd, b"0123456789")

print("-- status flags")
fcntl.fcntl(fd, fcntl.F_SETFL, os.O_APPEND | os.O_NONBLOCK)
fl = fcntl.fcntl(fd, fcntl.F_GETFL)
print("set:", bool(fl & os.O_APPEND), bool(fl & os.O_NONBLOCK), fl & os.O_ACCMODE == os.O_RDWR)
os.lseek(fd, 0, os.SEEK_SET)
os.write(fd, b"A")
print("appended:", os.pread(fd, 11, 0))
fcntl.fcntl(fd, fcntl.F_SETFL, 0)
print("cleared:", fcntl.fcntl(fd, fcntl.F_GETFL) & (os.O_APPEND | os.O_NONBLOCK))
print("F_OFD_SETLK:", attempt(fcntl.fcntl, fd, 37, struct.pack("hhxxxxqqixxxx", 1, 0, 0, 0, 0)))

print("-- ioctl")
os.lseek(fd, 4, os.SEEK_SET)
print("FIONREAD:", struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0" * 4))[0])
fcntl.ioctl(fd, termios.FIONBIO, struct.pack("i", 1))
print("FIONBIO on:", bool(fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_NONBLOCK))
fcntl.ioctl(fd, termios.FIONBIO, struct.pack("i", 0))
print("FIONBIO off:", bool(fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_NONBLOCK))
os.set_inheritable(fd, True)
fcntl.ioctl(fd, termios.FIOCLEX)
print("FIOCLEX:", os.get_inheritable(fd))
fcntl.ioctl(fd, termios.FIONCLEX)
print("FIONCLEX:", os.get_inheritable(fd))
print("isatty:", os.isatty(fd))
print("TIOCGWINSZ:", attempt(fcntl.ioctl, fd, termios.TIOCGWINSZ, b"\0" * 8))

print("-- locks between processes")
child = """
import fcntl, os, struct, sys
fd = os.open(sys.argv[1], os.O_RDWR)
def attempt(f, *args):
    try:
        f(*args)
        return "ok"
    except OSError as e:
        return e.strerror
step = sys.argv[2]
if step == "flock":
    print("child flock:", attempt(fcntl.flock, fd, fcntl.LOCK_EX | fcntl.LOCK_NB))
else:
    print("child lockf 0-5:", attempt(fcntl.lockf, fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 5, 0))
    print("child lockf 5-10:", attempt(fcntl.lockf, fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 5, 5))
    got = fcntl.fcntl(fd, fcntl.F_GETLK, struct.pack("hhxxxxqqixxxx", fcntl.F_RDLCK, 0, 0, 0, 0))
    t, w, start, length, pid = struct.unpack("hhxxxxqqixxxx", got)
    print("child F_GETLK:", t == fcntl.F_WRLCK, start, length)
"""
def run_child(step):
    out = subprocess.run([sys.executable, "-c", child, d + "/f", step],
                         capture_output=True, text=True)
    print(out.stdout + out.stderr, end="")
fcntl.flock(fd, fcntl.LOCK_EX)
run_child("flock")
print("flock LOCK_SH|LOCK_EX:", attempt(fcntl.flock, fd, fcntl.LOCK_SH | fcntl.LOCK_EX))
fcntl.flock(fd, fcntl.LOCK_UN)
run_child("flock")
fcntl.lockf(fd, fcntl.LOCK_EX, 5, 0)
run_child("lockf")
fcntl.lockf(fd, fcntl.LOCK_UN, 5, 0)

print("-- mknod")
print("regular:", attempt(os.mknod, d + "/reg", stat.S_IFREG | 0o600))
print("type 0:", attempt(os.mknod, d + "/zero", 0o600), stat.S_ISREG(os.stat(d + "/zero").st_mode))
print("fifo:", attempt(os.mkfifo, d + "/fifo", 0o600), stat.S_ISFIFO(os.stat(d + "/fifo").st_mode))
print("socket:", attempt(os.mknod, d + "/sock", stat.S_IFSOCK | 0o600))
print("directory:", attempt(os.mknod, d + "/dir", stat.S_IFDIR | 0o700))
dev = attempt(os.mknod, d + "/dev", stat.S_IFCHR | 0o600, os.makedev(1, 3))
print("device:", dev)
if dev == "ok":
    rdev = os.stat(d + "/dev").st_rdev
    print("device number:", os.major(rdev), os.minor(rdev))
print("in use:", attempt(os.mknod, d + "/reg", stat.S_IFREG | 0o600))

print("-- times")
f = path(d + "/f")
def tv(*v):
    return struct.pack("qqqq", *v)
print("utime:", sys_call(SYS_UTIME, f, struct.pack("qq", 1000, 2000)),
      int(os.stat(d + "/f").st_atime), int(os.stat(d + "/f").st_mtime))
print("utimes:", sys_call(SYS_UTIMES, f, tv(3000, 500000, 4000, 0)),
      os.stat(d + "/f").st_atime, os.stat(d + "/f").st_mtime)
print("utimes bad usec:", sys_call(SYS_UTIMES, f, tv(1, 1000000, 1, 0)))
dirfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
print("futimesat:", sys_call(SYS_FUTIMESAT, dirfd, path("f"), tv(5000, 0, 6000, 0)),
      int(os.stat(d + "/f").st_mtime))
print("futimesat of the descriptor:", sys_call(SYS_FUTIMESAT, fd, None, tv(7000, 0, 8000, 0)),
      int(os.stat(d + "/f").st_mtime))
print("utime now:", sys_call(SYS_UTIME, f, None),
      abs(os.stat(d + "/f").st_mtime - time.time()) < 60)

print("-- fallocate")
os.posix_fallocate(fd, 0, 100000)
print("posix_fallocate:", os.fstat(fd).st_size)
off = ctypes.c_long
print("KEEP_SIZE:", sys_call(SYS_FALLOCATE, fd, 1, off(0), off(10)))
print("length 0:", sys_call(SYS_FALLOCATE, fd, 0, off(0), off(0)))

print("-- sync")
os.sync()
print("syncfs:", libc.syncfs(fd))
print("sync_file_range:", sys_call(SYS_SYNC_FILE_RANGE, fd, off(0), off(0), 7))
print("sync_file_range bad flags:", sys_call(SYS_SYNC_FILE_RANGE, fd, off(0), off(0), 8))
print("readahead:", sys_call(SYS_READAHEAD, fd, off(0), ctypes.c_size_t(4096)))
os.chdir(d)
os.sync()
print("sync from a rump cwd: ok")
os.chdir("/")

print("-- openat2")
def openat2(name, flags, mode=0, resolve=0, size=24, tail=b""):
    how = struct.pack("QQQ", flags, mode, resolve) + tail
    how = how + b"\0" * (size - len(how)) if size > len(how) else how
    buf = ctypes.create_string_buffer(how, len(how))
    return sys_call(SYS_OPENAT2, AT_FDCWD, path(name), buf, ctypes.c_size_t(size))
fd2 = openat2(d + "/f", os.O_RDONLY)
print("plain:", fd2 >= 128, os.read(fd2, 4))
os.close(fd2)
print("size 8:", openat2(d + "/f", os.O_RDONLY, size=8))
print("zero tail:", openat2(d + "/f", os.O_RDONLY, size=32) >= 128)
print("nonzero tail:", openat2(d + "/f", os.O_RDONLY, size=32, tail=b"\1"))
print("create:", openat2(d + "/new", os.O_WRONLY | os.O_CREAT, 0o640) >= 128,
      oct(os.stat(d + "/new").st_mode & 0o777))
print("mode without O_CREAT:", openat2(d + "/f", os.O_RDONLY, 0o640))
print("unknown flag:", openat2(d + "/f", os.O_RDONLY | 1 << 40))
print("RESOLVE_NO_MAGICLINKS:",
      openat2(d + "/f", os.O_RDONLY, resolve=RESOLVE_NO_MAGICLINKS) >= 128)
print("RESOLVE_NO_SYMLINKS:", openat2(d + "/f", os.O_RDONLY, resolve=RESOLVE_NO_SYMLINKS))
print("RESOLVE_CACHED:", openat2(d + "/f", os.O_RDONLY, resolve=RESOLVE_CACHED))

print("-- getdents")
os.mkdir(d + "/sub")
buf = ctypes.create_string_buffer(4096)
ents = []
while True:
    n = sys_call(SYS_GETDENTS, dirfd, buf, 4096)
    if n == 0:
        break
    pos = 0
    while pos < n:
        reclen = struct.unpack_from("H", buf.raw, pos + 16)[0]
        name = buf.raw[pos + 18:pos + reclen - 1].split(b"\0")[0].decode()
        if name not in (".", ".."):
            ents.append((name, buf.raw[pos + reclen - 1]))
        pos += reclen
print(sorted(ents))
print("small buffer:", sys_call(SYS_GETDENTS, dirfd, buf, 16))
`

// fileCallsOutput is what fileCallsScript prints. The embedded kernel
// refuses to make device nodes, which a real rump kernel makes for its root
// user.
func fileCallsOutput(devices bool) string {
	device, dev := "device: EPERM\n", ""
	if devices {
		device, dev = "device: ok\ndevice number: 1 3\n", "('dev', 2), "
	}
	return `-- status flags
set: True True True
appended: b'0123456789A'
cleared: 0
F_OFD_SETLK: EINVAL
-- ioctl
FIONREAD: 7
FIONBIO on: True
FIONBIO off: False
FIOCLEX: False
FIONCLEX: True
isatty: False
TIOCGWINSZ: ENOTTY
-- locks between processes
child flock: Resource temporarily unavailable
flock LOCK_SH|LOCK_EX: EINVAL
child flock: ok
child lockf 0-5: Resource temporarily unavailable
child lockf 5-10: ok
child F_GETLK: True 0 5
-- mknod
regular: ok
type 0: ok True
fifo: ok True
socket: EINVAL
directory: EPERM
` + device + `in use: EEXIST
-- times
utime: 0 1000 2000
utimes: 0 3000.5 4000.0
utimes bad usec: EINVAL
futimesat: 0 6000
futimesat of the descriptor: 0 8000
utime now: 0 True
-- fallocate
posix_fallocate: 100000
KEEP_SIZE: ENOTSUP
length 0: EINVAL
-- sync
syncfs: 0
sync_file_range: 0
sync_file_range bad flags: EINVAL
readahead: 0
sync from a rump cwd: ok
-- openat2
plain: True b'0123'
size 8: EINVAL
zero tail: True
nonzero tail: E2BIG
create: True 0o640
mode without O_CREAT: EINVAL
unknown flag: EINVAL
RESOLVE_NO_MAGICLINKS: True
RESOLVE_NO_SYMLINKS: EINVAL
RESOLVE_CACHED: EAGAIN
-- getdents
[` + dev + `('f', 8), ('fifo', 1), ('new', 8), ('reg', 8), ('sub', 4), ('zero', 8)]
small buffer: EINVAL
`
}

func TestFileCallsOnRumpFiles(t *testing.T) {
	state := stateDir(t)
	d := startDaemon(t, "--state-dir", state)
	python := requireProgram(t, "python3", "python3")

	got := run(t, d, nil, python, "-c", fileCallsScript, "/rump/fc")
	want := fileCallsOutput(false)
	if got.code != 0 {
		t.Fatalf("the program failed with status %d:\nstdout:\n%s\nstderr:\n%s", got.code,
			got.stdout, got.stderr)
	}
	if diff := cmp.Diff(want, got.stdout); diff != "" {
		t.Errorf("file calls on rump files (-want +got):\n%s\nstderr:\n%s", diff, got.stderr)
	}

	// What the calls made is in the embedded kernel's root, and only there.
	root := filepath.Join(state, "root", "fc")
	checks := []struct {
		name string
		mode os.FileMode
		size int64 // -1: any
	}{
		{"f", 0o644, 100000},
		{"reg", 0o600, 0},
		{"zero", 0o600, 0},
		{"fifo", os.ModeNamedPipe | 0o600, -1},
		{"new", 0o640, 0},
		{"sub", os.ModeDir | 0o755, -1},
	}
	for _, c := range checks {
		fi, err := os.Lstat(filepath.Join(root, c.name))
		if err != nil {
			t.Errorf("the embedded root lacks fc/%s: %v", c.name, err)
			continue
		}
		if fi.Mode() != c.mode || c.size >= 0 && fi.Size() != c.size {
			t.Errorf("fc/%s in the embedded root: mode %v, size %d; want %v, %d", c.name,
				fi.Mode(), fi.Size(), c.mode, c.size)
		}
	}
	for _, name := range []string{"sock", "dir", "dev"} {
		if _, err := os.Lstat(filepath.Join(root, name)); !os.IsNotExist(err) {
			t.Errorf("a refused mknod left fc/%s in the embedded root: %v", name, err)
		}
	}
	if _, err := os.Stat("/rump/fc"); err == nil {
		t.Errorf("the host has /rump/fc")
	}
	data, err := os.ReadFile(filepath.Join(root, "f"))
	if err != nil || !strings.HasPrefix(string(data), "0123456789A\x00") {
		t.Errorf("fc/f in the embedded root starts %q (%v), want the data, then zeros",
			data[:min(len(data), 16)], err)
	}
	if n := d.metric(t, "hijack_decisions_total", "syscall=sync", "decision=rump"); n < 1 {
		t.Errorf("sync from a rump working directory was not served in the rump kernel")
	}
}

func TestFileCallsOnARealRumpServer(t *testing.T) {
	url := os.Getenv("RUMP_SERVER")
	if url == "" {
		t.Skip("RUMP_SERVER not set")
	}
	d := startDaemon(t)
	python := requireProgram(t, "python3", "python3")
	// A real server's file system outlives the test: work in a directory
	// of its own.
	base := fmt.Sprintf("/rump/hijack-filecalls-%d", time.Now().UnixNano())
	got := run(t, d, []string{"RUMP_SERVER=" + url}, python, "-c", fileCallsScript, base)
	if diff := cmp.Diff(fileCallsOutput(true), got.stdout); got.code != 0 || diff != "" {
		t.Errorf("file calls on %s: status %d (-want +got):\n%s\nstderr:\n%s", url, got.code,
			diff, got.stderr)
	}
}

func TestSysctlFromTheRumpKernel(t *testing.T) {
	d := startDaemon(t)
	sysctl := requireProgram(t, "sysctl", "procps")
	env := []string{"RUMPHIJACK=sysctl=yes"}
	host, err := os.ReadFile("/proc/sys/kernel/hostname")
	if err != nil {
		t.Fatal(err)
	}
	// /proc/sys is the rump kernel's tree by NetBSD names: the embedded
	// kernel is named rump, whatever the host is named.
	for range 2 {
		got := run(t, d, env, "cat", "/proc/sys/kern/hostname", "/proc/sys/kern/ostype")
		if got.code != 0 || got.stdout != "rump\nNetBSD\n" {
			t.Fatalf("cat of rump sysctl nodes: %+v", got)
		}
	}
	got := run(t, d, env, "ls", "/proc/sys", "/proc/sys/hw")
	if got.code != 0 || !strings.Contains(got.stdout, "hw\nkern\n") ||
		!strings.Contains(got.stdout, "pagesize\n") {
		t.Errorf("ls of rump sysctl nodes: %+v", got)
	}
	got = run(t, d, env, sysctl, "-a")
	if got.code != 0 || !strings.Contains(got.stdout, "kern.ostype = NetBSD\n") ||
		!strings.Contains(got.stdout, "hw.pagesize = 4096\n") || got.stderr != "" {
		t.Errorf("sysctl -a: %+v", got)
	}
	// Writing sets the node in the rump kernel, not on the host: through
	// procps's sysctl -w and through a shell's redirection.
	got = run(t, d, env, sysctl, "-w", "kern.hostname=written")
	if got.code != 0 {
		t.Fatalf("sysctl -w: %+v", got)
	}
	got = run(t, d, env, "sh", "-c", "cat /proc/sys/kern/hostname; echo again > /proc/sys/kern/hostname")
	if got.code != 0 || got.stdout != "written\n" {
		t.Errorf("after sysctl -w: %+v", got)
	}
	got = run(t, d, env, sysctl, "-n", "kern.hostname")
	if got.code != 0 || got.stdout != "again\n" {
		t.Errorf("after a shell's redirection: %+v", got)
	}
	if now, _ := os.ReadFile("/proc/sys/kernel/hostname"); string(now) != string(host) {
		t.Errorf("the host's name changed from %q to %q", host, now)
	}
	got = run(t, d, env, sysctl, "-w", "kern.ostype=x")
	if !strings.Contains(got.stderr, "kern.ostype") {
		t.Errorf("setting a read-only node: %+v", got)
	}
	if got := run(t, d, env, "cat", "/proc/sys/kern/ostype"); got.stdout != "NetBSD\n" {
		t.Errorf("a read-only node after a write: %+v", got)
	}
	// Without sysctl=yes, /proc/sys is the host's.
	got = run(t, d, nil, "cat", "/proc/sys/kernel/hostname")
	if got.stdout != string(host) {
		t.Errorf("/proc/sys without sysctl=yes: %+v", got)
	}
	run(t, d, env, sysctl, "-w", "kern.hostname=rump")
}

func TestMountTablesShowTheRumpKernel(t *testing.T) {
	d := startDaemon(t)
	env := []string{"RUMPHIJACK=path=/rump,vfs=getvfsstat"}
	// With vfs=getvfsstat the mount tables list the rump kernel's file
	// systems under the path prefix, after the host's: df and findmnt
	// place /rump on one of them.
	for range 2 {
		got := run(t, d, env, "df", "-P", "/rump")
		lines := strings.Split(strings.TrimSpace(got.stdout), "\n")
		if got.code != 0 || len(lines) != 2 || !strings.HasSuffix(lines[1], " /rump") {
			t.Fatalf("df /rump with vfs=getvfsstat: %+v", got)
		}
	}
	if findmnt, err := exec.LookPath("findmnt"); err == nil {
		got := run(t, d, env, findmnt, "-n", "-o", "TARGET,FSTYPE", "/rump")
		if got.code != 0 || !strings.HasPrefix(got.stdout, "/rump ") ||
			!strings.Contains(got.stdout, "rump.") {
			t.Errorf("findmnt /rump: %+v", got)
		}
	}
	hostRoot, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	got := run(t, d, env, "sh", "-c", "wc -l < /proc/self/mountinfo; tail -n1 /proc/mounts")
	want := fmt.Sprintf("%d\n", strings.Count(string(hostRoot), "\n")+1)
	if got.code != 0 || !strings.HasPrefix(got.stdout, want) ||
		!strings.Contains(got.stdout, " /rump rump.") {
		t.Errorf("the mount tables keep the host's mounts and add the rump kernel's: %+v", got)
	}
	// Without it, /rump is on whatever holds the host's root.
	got = run(t, d, nil, "df", "-P", "/rump")
	if strings.Contains(got.stdout, " /rump\n") {
		t.Errorf("df /rump without vfs=getvfsstat: %+v", got)
	}
}

func TestFileHandlesOfRumpFiles(t *testing.T) {
	d := startDaemon(t)
	python := requireProgram(t, "python3", "python3")
	// A handle taken with name_to_handle_at reopens the same file with
	// open_by_handle_at, renamed or not; without vfs=fhcalls rump files
	// have no handles.
	script := `
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
class FH(ctypes.Structure):
    _fields_ = [("bytes", ctypes.c_uint), ("type", ctypes.c_int), ("h", ctypes.c_ubyte * 128)]
open("/rump/fh", "w").write("through a handle\n")
fh = FH(); fh.bytes = 4; mnt = ctypes.c_int()
r = libc.name_to_handle_at(-100, b"/rump/fh", ctypes.byref(fh), ctypes.byref(mnt), 0)
print("small:", r, ctypes.get_errno(), fh.bytes > 4)
fh.bytes = 128
r = libc.name_to_handle_at(-100, b"/rump/fh", ctypes.byref(fh), ctypes.byref(mnt), 0)
print("handle:", r, ctypes.get_errno() if r else 0)
if r == 0:
    os.rename("/rump/fh", "/rump/renamed")
    fd = libc.open_by_handle_at(-100, ctypes.byref(fh), os.O_RDONLY)
    print("reopened:", fd >= 128, os.read(fd, 100))
    os.rename("/rump/renamed", "/rump/fh")
`
	got := run(t, d, []string{"RUMPHIJACK=path=/rump,vfs=fhcalls"}, python, "-c", script)
	want := "small: -1 75 True\nhandle: 0 0\nreopened: True b'through a handle\\n'\n"
	if got.code != 0 || got.stdout != want {
		t.Errorf("file handles with vfs=fhcalls:\n%+v\nwant stdout %q", got, want)
	}
	got = run(t, d, nil, python, "-c", script)
	if got.code != 0 || !strings.Contains(got.stdout, "handle: -1 95\n") {
		t.Errorf("file handles without vfs=fhcalls: %+v, want EOPNOTSUPP", got)
	}
}

func TestSelectorsOnARealRumpServer(t *testing.T) {
	url := os.Getenv("RUMP_SERVER")
	if url == "" {
		t.Skip("RUMP_SERVER not set")
	}
	d := startDaemon(t)
	server := "RUMP_SERVER=" + url
	sysctlEnv := []string{server, "RUMPHIJACK=sysctl=yes"}
	if got := run(t, d, sysctlEnv, "cat", "/proc/sys/kern/ostype"); got.stdout != "NetBSD\n" {
		t.Errorf("kern.ostype of a real server: %+v", got)
	}
	if sysctl, err := exec.LookPath("sysctl"); err == nil {
		name := fmt.Sprintf("hijack-%d", time.Now().UnixNano()%100000)
		run(t, d, sysctlEnv, sysctl, "-w", "kern.hostname="+name)
		if got := run(t, d, sysctlEnv, sysctl, "-n", "kern.hostname"); got.stdout != name+"\n" {
			t.Errorf("kern.hostname set on a real server: %+v, want %s", got, name)
		}
	}
	got := run(t, d, []string{server, "RUMPHIJACK=path=/rump,vfs=getvfsstat"}, "df", "-P", "/rump")
	if got.code != 0 || !strings.Contains(got.stdout, " /rump\n") {
		t.Errorf("df /rump on a real server: %+v", got)
	}
}

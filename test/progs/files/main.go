// Command files works on files with the os package alone, so that it needs
// no libc, for hijack's end-to-end tests and benchmarks:
//
//	files ops DIR             creates DIR and works in it: create, write,
//	                          read, seek, stat, readdir, rename, symlink,
//	                          chdir with relative names, remove; it prints
//	                          one line per step, naming DIR as given
//	files stat PATH N         N stat calls of PATH
//	files open PATH N         N open and close pairs of PATH
//	files pread PATH N        N reads of 4 KiB at offset 0 of PATH
//
// The three timing modes print "MODE N NS", the cost of one call in
// nanoseconds without start-up. Two more move data:
//
//	files read PATH BUF       reads PATH to its end with BUF-byte reads
//	files write PATH SIZE BUF writes SIZE bytes to a new PATH with BUF-byte
//	                          writes, without syncing them
//
// and print "MODE BYTES MBPS", the rate in megabytes (10^6 bytes) per second.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

func main() {
	if len(os.Args) < 3 {
		usage()
	}
	var err error
	switch mode, args := os.Args[1], os.Args[2:]; {
	case mode == "ops" && len(args) == 1:
		err = ops(args[0])
	case (mode == "stat" || mode == "open" || mode == "pread") && len(args) == 2:
		err = timeCalls(mode, args[0], count(args[1]))
	case mode == "read" && len(args) == 2:
		err = transfer(mode, args[0], 0, count(args[1]))
	case mode == "write" && len(args) == 3:
		err = transfer(mode, args[0], count(args[1]), count(args[2]))
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "files:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: files ops DIR | files stat|open|pread PATH N | "+
		"files read PATH BUF | files write PATH SIZE BUF")
	os.Exit(2)
}

// count parses a positive number, which may end in K or M (binary units).
func count(s string) int {
	unit := 1
	switch {
	case len(s) > 1 && s[len(s)-1] == 'K':
		unit, s = 1<<10, s[:len(s)-1]
	case len(s) > 1 && s[len(s)-1] == 'M':
		unit, s = 1<<20, s[:len(s)-1]
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		fmt.Fprintf(os.Stderr, "files: %q is not a positive number\n", s)
		os.Exit(2)
	}
	return n * unit
}

// ops runs the file steps under dir and prints what each returned. A step
// that fails is printed with its error and the next one runs, so that one
// missing call shows as one line of difference from a run on the host. The
// error is ops's own only when it cannot print.
func ops(dir string) error {
	out := &printer{w: os.Stdout}
	in := func(name string) string { return filepath.Join(dir, name) }

	out.step("mkdir", os.Mkdir(dir, 0o755))
	f, err := os.Create(in("f"))
	out.step("create", err)
	if err == nil {
		n, err := f.Write([]byte("first line\nsecond line\n"))
		out.step("write", n, err)
		n, err = f.WriteAt([]byte("FIRST"), 0)
		out.step("write at 0", n, err)
		off, err := f.Seek(6, io.SeekStart)
		out.step("seek to 6", off, err)
		buf := make([]byte, 4)
		n, err = io.ReadFull(f, buf)
		out.step("read after seek", n, string(buf[:n]), err)
		off, err = f.Seek(-5, io.SeekEnd)
		out.step("seek from the end", off, err)
		n, err = f.ReadAt(buf, 11)
		out.step("read at 11", n, string(buf[:n]), err)
		out.step("close", f.Close())
	}
	data, err := os.ReadFile(in("f"))
	out.step("read whole file", string(data), err)
	_, err = os.OpenFile(in("f"), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	out.step("exclusive create of an existing file", errors.Is(err, os.ErrExist), err)
	out.stat("stat", os.Stat, in("f"))

	out.step("mkdir d", os.Mkdir(in("d"), 0o750))
	out.step("mkdir -p", os.MkdirAll(in("d/e/f"), 0o755))
	out.step("write d/g", os.WriteFile(in("d/g"), []byte("g\n"), 0o600))
	out.stat("stat d", os.Stat, in("d"))
	out.readDir(dir)

	out.step("rename f to d/moved", os.Rename(in("f"), in("d/moved")))
	_, err = os.Stat(in("f"))
	out.step("old name gone", errors.Is(err, os.ErrNotExist), err)
	out.step("symlink", os.Symlink("moved", in("d/link")))
	target, err := os.Readlink(in("d/link"))
	out.step("readlink", target, err)
	out.stat("lstat of the link", os.Lstat, in("d/link"))
	out.stat("stat through the link", os.Stat, in("d/link"))
	out.step("truncate", os.Truncate(in("d/moved"), 5))
	out.step("chmod", os.Chmod(in("d/moved"), 0o640))
	mtime := time.Unix(1_000_000_000, 0)
	out.step("chtimes", os.Chtimes(in("d/moved"), mtime, mtime))
	out.stat("stat after truncate, chmod, chtimes", os.Stat, in("d/moved"))
	out.readDir(in("d"))

	out.cwd(dir)

	_, err = os.Open(in("missing"))
	out.step("open a missing file", errors.Is(err, os.ErrNotExist), err)
	err = os.Mkdir(in("d"), 0o755)
	out.step("mkdir an existing directory", errors.Is(err, os.ErrExist), err)
	out.step("remove a directory that is not empty", os.Remove(in("d")) != nil)
	out.step("remove the link", os.Remove(in("d/link")))
	out.step("remove all", os.RemoveAll(in("d")))
	out.readDir(dir)
	out.step("remove the base", os.Remove(dir))
	return out.err
}

// cwd changes into dir/d by name, out to the host's root and back by
// descriptor, and uses relative names in each.
func (out *printer) cwd(dir string) {
	start, err := os.Getwd()
	if err != nil {
		out.step("getwd at the start", err)
		return
	}
	defer os.Chdir(start)

	// Relative names after a failed chdir would be the host's: stop there.
	err = os.Chdir(filepath.Join(dir, "d"))
	out.step("chdir d", err)
	if err != nil {
		return
	}
	wd, err := os.Getwd()
	out.step("getwd", wd, err)
	data, err := os.ReadFile("moved")
	out.step("read a relative name", string(data), err)
	out.step("mkdir a relative name", os.Mkdir("rel", 0o755))
	out.step("write a relative name", os.WriteFile("rel/file", []byte("rel\n"), 0o644))
	out.stat("stat through ..", os.Stat, "../d/rel/file")
	out.readDir(".")

	out.step("chdir rel", os.Chdir("rel"))
	wd, err = os.Getwd()
	out.step("getwd", wd, err)
	out.step("chdir ..", os.Chdir(".."))
	wd, err = os.Getwd()
	out.step("getwd", wd, err)

	root, err := os.Open("/")
	out.step("open the host root", err)
	if err != nil {
		return
	}
	defer root.Close()
	out.step("fchdir to the host root", root.Chdir())
	wd, err = os.Getwd()
	out.step("getwd", wd, err)
	out.stat("stat a relative host name", os.Stat, "etc")

	d, err := os.Open(filepath.Join(dir, "d"))
	out.step("open d", err)
	if err != nil {
		return
	}
	defer d.Close()
	err = d.Chdir()
	out.step("fchdir to d", err)
	if err != nil {
		return
	}
	wd, err = os.Getwd()
	out.step("getwd", wd, err)
	_, err = os.Stat("moved")
	out.step("stat a relative name", err)
	out.step("remove a relative name", os.RemoveAll("rel"))
}

// printer prints the steps of ops and keeps the first error of writing them.
type printer struct {
	w   io.Writer
	err error
}

func (out *printer) step(what string, results ...any) {
	line := what + ":"
	for _, r := range results {
		switch r := r.(type) {
		case nil:
			line += " ok" // a nil error
		case string:
			line += fmt.Sprintf(" %q", r)
		default:
			line += fmt.Sprintf(" %v", r)
		}
	}
	if _, err := fmt.Fprintln(out.w, line); err != nil && out.err == nil {
		out.err = err
	}
}

// stat prints the parts of a file's status that two file systems agree on.
func (out *printer) stat(what string, stat func(string) (os.FileInfo, error), name string) {
	fi, err := stat(name)
	if err != nil {
		out.step(what, err)
		return
	}
	size := fi.Size()
	if fi.IsDir() {
		size = 0 // a directory's size is its file system's business
	}
	out.step(what, fi.Name(), fi.Mode(), size, fi.ModTime().Unix() == 1_000_000_000)
}

func (out *printer) readDir(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		out.step("readdir "+filepath.Base(dir), err)
		return
	}
	var names []string
	for _, e := range entries {
		switch {
		case e.IsDir():
			names = append(names, e.Name()+"/")
		case e.Type()&os.ModeSymlink != 0:
			names = append(names, e.Name()+"@")
		default:
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	out.step("readdir "+filepath.Base(dir), names)
}

// timeCalls times n calls of mode on path.
func timeCalls(mode, path string, n int) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	buf := make([]byte, 4<<10)
	var call func() error
	switch mode {
	case "stat":
		call = func() error { _, err := os.Stat(path); return err }
	case "open":
		call = func() error {
			g, err := os.Open(path)
			if err != nil {
				return err
			}
			return g.Close()
		}
	case "pread":
		call = func() error {
			n, err := f.ReadAt(buf, 0)
			if err == nil && n != len(buf) {
				err = fmt.Errorf("pread of %s: %d bytes, want %d", path, n, len(buf))
			}
			return err
		}
	}

	for range min(n, 1000) { // warm caches and hijackd's goroutines
		if err := call(); err != nil {
			return err
		}
	}
	start := time.Now()
	for range n {
		if err := call(); err != nil {
			return err
		}
	}
	elapsed := time.Since(start)
	fmt.Printf("%s %d %.1f\n", mode, n, float64(elapsed.Nanoseconds())/float64(n))
	return nil
}

// transfer reads path to its end, or writes size bytes to it, bufSize at a
// time, and prints the rate. Short reads and writes are continued, as a
// kernel may serve a large call in part.
func transfer(mode, path string, size, bufSize int) error {
	buf := make([]byte, bufSize)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	var f *os.File
	var err error
	if mode == "read" {
		f, err = os.Open(path)
	} else {
		f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	}
	if err != nil {
		return err
	}
	defer f.Close()

	moved := 0
	start := time.Now()
	if mode == "read" {
		for {
			n, err := f.Read(buf)
			moved += n
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
		}
	} else {
		for moved < size {
			n, err := f.Write(buf[:min(bufSize, size-moved)])
			moved += n
			if err != nil {
				return err
			}
		}
	}
	elapsed := time.Since(start)
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Printf("%s %d %.1f\n", mode, moved, float64(moved)/elapsed.Seconds()/1e6)
	return nil
}

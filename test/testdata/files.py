# files.py BASE TREE works on files under BASE, which must not exist yet,
# with Python's file, os, shutil, sqlite3 and mmap modules, and copies the
# host directory TREE into it. It prints what each step returns.
import errno
import mmap
import os
import shutil
import sqlite3
import sys

base, tree = sys.argv[1], sys.argv[2]


def at(*names):
    return os.path.join(base, *names)


def step(what, result):
    print(what + ":", result)


os.mkdir(base)
with open(at("f.txt"), "w") as f:
    f.write("line one\nline two\n")
with open(at("f.txt"), "r+") as f:
    step("read", repr(f.read()))
    f.seek(5)
    step("read after seek", repr(f.read(3)))
    f.seek(0, os.SEEK_END)
    step("tell at the end", f.tell())
    f.write("line three\n")
with open(at("f.txt"), "rb") as f:
    f.seek(-6, os.SEEK_END)
    step("read from the end", f.read())
step("size", os.path.getsize(at("f.txt")))
fd = os.open(at("f.txt"), os.O_RDWR)
step("pwrite", os.pwrite(fd, b"LINE", 0))
step("pread", os.pread(fd, 8, 0))
os.close(fd)

shutil.copytree(tree, at("tree"), symlinks=True)
shutil.copytree(at("tree"), at("tree2"), symlinks=True)
for root, dirs, files in os.walk(base):
    dirs.sort()
    step("walk " + os.path.relpath(root, base), (dirs, sorted(files)))
with os.scandir(at("tree")) as entries:
    for e in sorted(entries, key=lambda e: e.name):
        step("scandir " + e.name, (e.is_dir(follow_symlinks=False),
                                   e.is_file(follow_symlinks=False), e.is_symlink()))
same = True
for root, dirs, files in os.walk(tree):
    for name in files:
        src = os.path.join(root, name)
        rel = os.path.relpath(src, tree)
        for copy in (at("tree", rel), at("tree2", rel)):
            if os.path.islink(src):
                same = same and os.readlink(src) == os.readlink(copy)
                continue
            with open(src, "rb") as a, open(copy, "rb") as b:
                same = same and a.read() == b.read()
            same = same and os.stat(src).st_mtime_ns == os.stat(copy).st_mtime_ns
            same = same and os.stat(src).st_mode == os.stat(copy).st_mode
step("both copies equal the tree, times and modes included", same)

db = at("db.sqlite")
c = sqlite3.connect(db)
c.execute("create table t (k integer primary key, v text)")
c.executemany("insert into t (v) values (?)", [("v%d" % i,) for i in range(1000)])
c.commit()
c.close()
c = sqlite3.connect(db)
step("rows after reopening", c.execute("select count(*), min(v), max(k) from t").fetchone())
c.execute("update t set v = 'changed' where k = 7")
c.commit()
step("updated row", c.execute("select v from t where k = 7").fetchone())
step("integrity", c.execute("pragma integrity_check").fetchone())
c.close()
step("journal left behind", os.path.exists(db + "-journal"))

with open(at("f.txt"), "rb") as f:
    with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        step("read-only mmap", (len(m), m[:8], m.find(b"three")))
with open(at("f.txt"), "r+b") as f:
    try:
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_WRITE) as m:
            m[0:4] = b"line"
        step("writable shared mmap", "mapped")
    except OSError as e:
        step("writable shared mmap", errno.errorcode[e.errno])
with open(at("f.txt"), "rb") as f:
    step("file after the mappings", f.read(8))

shutil.rmtree(at("tree2"))
os.remove(at("f.txt"))
step("left", sorted(os.listdir(base)))

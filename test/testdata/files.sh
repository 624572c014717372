# files.sh BASE TREE works on files under BASE, which must not exist yet, and
# copies the host directory TREE into it. It prints each command before its
# output, and its status when it fails, and goes on: a run in the rump kernel
# must print what a run on the host prints, up to times and inode numbers.
# Written for POSIX sh, so that bash and busybox sh run it alike.
base=$1
tree=$2
exec 2>&1

# x runs a command line in this shell, so that its redirections are the
# shell's own opens and dups.
x() {
	printf '$ %s\n' "$1"
	eval "$1" || echo "status $?"
}

x 'mkdir -p "$base/a/b/c"'
x 'echo one > "$base/a/f"'
x 'echo two >> "$base/a/f"'
x 'cat "$base/a/f"'
x 'while read -r line; do echo "read: $line"; done < "$base/a/f"'
x 'wc -l < "$base/a/f"'
x 'ls -la "$base/a"'
x 'stat "$base/a/f"'
x 'stat "$base/a/b"'
x 'mv "$base/a/f" "$base/a/b/g"'
x 'ls "$base/a" "$base/a/b"'
x 'cat < "$base/a/b/g" > "$base/a/copy"'
x 'cat "$base/a/copy"'
x 'exec 3> "$base/a/fd3"; echo through descriptor 3 >&3; exec 3>&-'
x 'cat "$base/a/fd3"'
x '(umask 077 && echo private > "$base/a/private" && mkdir "$base/a/privdir")'
x 'stat -c "%n %a" "$base/a/private" "$base/a/privdir"'

x 'cp -a "$tree" "$base/tree"'
x 'ls -laR "$base/tree"'
x 'stat -c "%n %a %s %Y" "$base/tree/readme.txt" "$base/tree/bin/tool"'
x 'cmp "$tree/data.bin" "$base/tree/data.bin" && echo same data'
x 'wc -c "$base/tree/data.bin" "$base/tree/readme.txt"'

x 'ln -s ../a/b/g "$base/tree/g-link"'
x 'readlink "$base/tree/g-link"'
x 'cat "$base/tree/g-link"'
x 'ln -s /nowhere/at/all "$base/dangling"'
x 'readlink "$base/dangling"'
x 'cat "$base/dangling"'
x 'find "$base" | sort'
x 'find "$base" -type f -name "*.txt" | sort'
x 'find "$base" -type l | sort'
x 'du -a "$base/tree" | sort -k 2'
x 'du -s "$base/a"'

x 'rm -r "$base/a"'
x 'rm "$base/dangling" "$base/tree/g-link"'
x 'ls "$base/a"'
x 'find "$base" | sort'

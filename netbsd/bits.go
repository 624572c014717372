package netbsd

// flagPair ties a Linux bit mask to the NetBSD bit mask with the same meaning.
// A mask may hold several bits (Linux O_SYNC is two), and two pairs may share
// a side (Linux POLLOUT and POLLWRNORM are both NetBSD POLLOUT), which is why
// translate matches whole masks and never consumes bits of the input.
type flagPair struct {
	linux, netbsd uint64
}

// translate maps every pair whose whole source mask is set in v and returns
// the result together with the source bits no pair covered.
func translate(v uint64, pairs []flagPair, fromLinux bool) (out, rest uint64) {
	var covered uint64
	for _, p := range pairs {
		src, dst := p.netbsd, p.linux
		if fromLinux {
			src, dst = p.linux, p.netbsd
		}
		if v&src == src {
			out |= dst
			covered |= src
		}
	}
	return out, v &^ covered
}

// numPair ties a Linux number (a command, an option name, a family) to the
// NetBSD number with the same meaning.
type numPair struct {
	linux, netbsd int64
}

// lookup finds v on the source side of pairs. Where a number appears twice on
// one side, the first pair wins, so tables list the preferred mapping first.
func lookup(pairs []numPair, v int64, fromLinux bool) (int64, bool) {
	for _, p := range pairs {
		if fromLinux && p.linux == v {
			return p.netbsd, true
		}
		if !fromLinux && p.netbsd == v {
			return p.linux, true
		}
	}
	return 0, false
}

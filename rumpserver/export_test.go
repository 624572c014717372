package rumpserver

// blockedCalls returns the number of calls waiting in poll.
func (s *Server) blockedCalls() int { return int(s.k.blocked.Load()) }

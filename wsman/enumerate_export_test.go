package wsman

// SetEnumerationLimits sets the server-wide cap and memory budget (bytes,
// by estimate) of open enumeration contexts; for tests.
func SetEnumerationLimits(s *Server, max int, budget int64) {
	s.init()
	s.enums.mu.Lock()
	defer s.enums.mu.Unlock()
	s.enums.max, s.enums.budget = max, budget
}

// EnumerationBytes returns the estimated bytes the open enumeration
// contexts hold; for tests.
func EnumerationBytes(s *Server) int64 {
	s.init()
	s.enums.mu.Lock()
	defer s.enums.mu.Unlock()
	return s.enums.used
}

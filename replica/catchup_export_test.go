package replica

// TrackedCatchUps is how many catch-ups and Resyncs of synchronization id
// were made from the blocks replicad itself wrote (catchUps.changedSince).
func (s *Service) TrackedCatchUps(id string) int64 { return s.catchUps.trackedCount(id) }

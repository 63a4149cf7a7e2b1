package handlers

// SetStreamThreshold lowers the size past which bulk lists stream, for a
// test; the returned function restores it.
func SetStreamThreshold(n int) (restore func()) {
	old := streamThreshold
	streamThreshold = n
	return func() { streamThreshold = old }
}

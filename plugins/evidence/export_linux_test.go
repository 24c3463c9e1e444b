package evidence

import "testing"

// setNoOpenat2 makes Root.Open use the O_NOFOLLOW walk for one test.
func setNoOpenat2(t *testing.T) {
	prev := noOpenat2.Load()
	noOpenat2.Store(true)
	t.Cleanup(func() { noOpenat2.Store(prev) })
}

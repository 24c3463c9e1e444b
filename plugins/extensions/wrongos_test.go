package extensions

import (
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/azvql/azvql/plugins/evidence"
)

// isWrongOS keys on the sentinel, not on the error's wording.
func TestIsWrongOS(t *testing.T) {
	wrapped := fmt.Errorf("listing: %w", &os.PathError{Op: "resolve", Path: "/var/lib/waagent", Err: evidence.ErrWrongOS})
	if !isWrongOS(wrapped) {
		t.Error("a wrapped ErrWrongOS is not recognised")
	}
	if isWrongOS(errors.New("a Linux path on a Windows host needs root=")) {
		t.Error("an error with the same text but not the sentinel is taken for it")
	}
}

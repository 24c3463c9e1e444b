package artifacts

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/Velocidex/ordereddict"
	"www.velocidex.com/golang/vfilter"
)

// TestRunRequestEmitErrorStopsQuery: when writing a row fails, the
// source's query is cancelled and its goroutines end before its scope
// is closed, instead of staying blocked on a row nobody reads.
func TestRunRequestEmitErrorStopsQuery(t *testing.T) {
	repo := mustRepo(t, `
name: Test.Rows
sources:
  - query: SELECT * FROM range(end=100000)
`)
	requests, err := repo.Compile("Test.Rows", nil, CompilerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	err = RunRequest(context.Background(), vfilter.NewScope(), requests[0],
		func(string, *ordereddict.Dict) error { return errors.New("disk full") })
	if err == nil || err.Error() != "disk full" {
		t.Fatalf("RunRequest: %v, want the emit error", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Errorf("%d goroutines left running after the emit error", after-before)
	}
}

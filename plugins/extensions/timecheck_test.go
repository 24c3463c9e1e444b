package extensions

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/evidence"
)

// The case: a Windows tree copied without its times. Every file
// gets one instant, later than the runs' in-file times, so a Started
// taken from an mtime lands after a Finished read from a status file.
func TestTimeConflictLostTimes(t *testing.T) {
	root := fixtureTree(t, "windows")
	copied := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink != 0 {
			return err
		}
		return os.Chtimes(p, copied, copied)
	})
	if err != nil {
		t.Fatal(err)
	}
	acc, _ := evidence.Get(nil, "file")
	var logs []string
	flagged, inverted := 0, 0
	WalkExecutions(context.Background(), evidence.NewRoot(acc, root), true,
		func(f string, a ...any) { logs = append(logs, fmt.Sprintf(f, a...)) },
		func(d *ordereddict.Dict) bool {
			tc, _ := d.Get("TimeConflict")
			started, _ := d.Get("Started")
			finished, _ := d.Get("Finished")
			ss, _ := d.Get("StartedSource")
			fsrc, _ := d.Get("FinishedSource")
			st, sok := started.(time.Time)
			ft, fok := finished.(time.Time)
			msg, _ := tc.(string)
			if sok && fok && st.After(ft) {
				inverted++
				want := fmt.Sprintf("%s is after %s: file times not preserved?", ss, fsrc)
				if !strings.Contains(msg, want) {
					t.Errorf("%v: Started %v (%v) after Finished %v (%v), TimeConflict %q lacks %q", d, st, ss, ft, fsrc, msg, want)
				}
			}
			if s, _ := ss.(string); fsTimeSources[s] {
				if !strings.Contains(msg, "is the instant every file of the tree has (2026-12-04T10:00:00Z)") {
					t.Errorf("Started from %s on a lost-times tree, TimeConflict %q", s, msg)
				}
			}
			if msg != "" {
				flagged++
			}
			return true
		})
	if inverted == 0 {
		t.Fatal("no row with Started after Finished: the test no longer exercises the issue's case")
	}
	n := 0
	for _, l := range logs {
		if strings.Contains(l, "have the same time, 2026-12-04T10:00:00Z") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("want one tree warning, got %d in %q", n, logs)
	}
	t.Logf("%d rows Started after Finished, %d rows flagged", inverted, flagged)
}

// With the fixture's own times no row has a conflict (the goldens pin
// the same), so the check does not cry wolf.
func TestTimeConflictPreservedTimes(t *testing.T) {
	for _, tree := range []string{"windows", "linux", "linux-rc2", "linux-cse"} {
		for k, d := range walkRows(t, fixtureTree(t, tree)) {
			if tc, _ := d.Get("TimeConflict"); tc != nil {
				t.Errorf("%s %s: TimeConflict %v", tree, k, tc)
			}
		}
	}
}

func TestCheckTimesInFile(t *testing.T) {
	c := &execCollector{}
	x := &execution{c: c,
		started: time.Date(2024, 5, 2, 10, 0, 5, 0, time.UTC), startedSrc: "status.startTime",
		finished: time.Date(2024, 5, 2, 10, 0, 1, 0, time.UTC), finishedSrc: "status.endTime"}
	got := x.checkTimes(time.Time{}, time.Date(2024, 5, 2, 10, 0, 1, 0, time.UTC), time.Time{})
	if got != "status.startTime is after status.endTime: the status file contradicts itself" {
		t.Errorf("got %v", got)
	}
	// within one second: timestampUTC rounding, no conflict
	x.started, x.startedSrc = time.Date(2024, 5, 2, 10, 0, 1, 500e6, time.UTC), "settings.mtime"
	if got := x.checkTimes(time.Time{}, time.Time{}, time.Time{}); got != nil {
		t.Errorf("sub-second inversion flagged: %v", got)
	}
}

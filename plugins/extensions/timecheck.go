package extensions

import (
	"strings"
	"time"
)

// Times that can be trusted (issue 16 §2). Started and Finished come from
// the best evidence first (times); a file-system time (an mtime) can be
// wrong when evidence was copied or extracted without its times, a time
// written inside a file cannot. checkTimes compares a run's times with
// each other and with the in-file times and says, in TimeConflict, which
// time the others contradict. Values are never changed: the in-file time
// is the one to believe, the file-system time stays visible and named.

// fsTimeSources are the Started/FinishedSource values read from file
// metadata rather than from inside a file.
var fsTimeSources = map[string]bool{
	"script.mtime": true, "download.mtime": true, "settings.mtime": true, "output.mtime": true,
}

// minUniformFiles: fewer files than this sharing one instant can be a
// fast run on a coarse clock (FAT and zip keep 2 s), not a lost-times copy.
const minUniformFiles = 3

// checkUniformTimes notes when every settings and status file of the
// handler kind being walked has the same mtime, and logs it the first
// time in the tree (*warned). The walk holds one kind at a time, so the
// check is per kind: a copy that lost its times loses them everywhere.
func (c *execCollector) checkUniformTimes(warned *bool) {
	var t time.Time
	n := 0
	for i := range c.slots {
		s := &c.slots[i]
		for _, ref := range [2]*fileRef{&s.settings, &s.status} {
			m := ref.mtime()
			if ref.dir == 0 || m.IsZero() {
				continue
			}
			if n > 0 && !m.Equal(t) {
				return
			}
			t = m
			n++
		}
	}
	if n < minUniformFiles {
		return
	}
	c.uniform = t.UTC()
	if *warned {
		return
	}
	*warned = true
	c.logf("evidence tree: all %d settings and status files of the first handler kind walked have the same time, %s: the tree was copied or extracted without its file times; times taken from them (the ...Source columns ending in .mtime) are not when anything ran (TimeConflict says which rows)",
		n, c.uniform.Format(time.RFC3339Nano))
}

// stamp is one time of a run and where it was read.
type stamp struct {
	t   time.Time
	src string
}

// checkTimes returns TimeConflict: NULL when the run's times agree.
// settingsMtime is zero for an emptied settings file; ivEnd and final
// are the status file's endTime and final timestamp (zero if none).
func (x *execution) checkTimes(settingsMtime, ivEnd, final time.Time) interface{} {
	var starts, ends []stamp
	if t, ok := x.started.(time.Time); ok {
		starts = append(starts, stamp{t, x.startedSrc.(string)})
	}
	if !settingsMtime.IsZero() && x.startedSrc != "settings.mtime" {
		// settings are written before the run: a later mtime than the
		// run's end is a copy's time
		starts = append(starts, stamp{settingsMtime.UTC(), "settings.mtime"})
	}
	if t, ok := x.finished.(time.Time); ok {
		ends = append(ends, stamp{t, x.finishedSrc.(string)})
	}
	for _, e := range []stamp{{ivEnd, "status.endTime"}, {final, "status.timestamp"}} {
		if !e.t.IsZero() && e.src != x.finishedSrc {
			ends = append(ends, stamp{e.t.UTC(), e.src})
		}
	}
	var msgs []string
	seen := map[string]bool{}
	add := func(m string) {
		if !seen[m] {
			seen[m] = true
			msgs = append(msgs, m)
		}
	}
	for _, s := range starts {
		for _, e := range ends {
			// in-file timestamps have whole seconds: an inversion within
			// one second is rounding, not a contradiction
			if s.t.Sub(e.t) < time.Second {
				continue
			}
			m := s.src + " is after " + e.src
			switch {
			case fsTimeSources[s.src] || fsTimeSources[e.src]:
				m += ": file times not preserved?"
			default:
				m += ": the status file contradicts itself"
			}
			add(m)
		}
	}
	if u := x.c.uniform; !u.IsZero() {
		for _, src := range []interface{}{x.startedSrc, x.finishedSrc} {
			if s, _ := src.(string); fsTimeSources[s] {
				add(s + " is the instant every file of the tree has (" + u.Format(time.RFC3339) + "): file times not preserved")
			}
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return strings.Join(msgs, "; ")
}

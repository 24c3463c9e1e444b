package extensions

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/azvql/azvql/plugins/catalog"
	"github.com/azvql/azvql/plugins/vqlkit"
	"www.velocidex.com/golang/vfilter"
)

// ExecFilter is the question azure_run_executions answers itself (os=,
// kinds=, after=, before=): handler kinds outside it are not walked, and
// executions outside the window are not made into rows. It keeps exactly
// the rows the artifacts' VQL kept
//
//	WHERE OS = 'Linux' AND ( Kind = 'RunCommand' OR ... )
//	  AND InDateRange(When=Started || Finished)
//
// with Generic.Azure.Utils' InDateRange and the vql host's truth of a
// time (BoolTime: true when after the epoch): When is Started when it is
// after the epoch, else Finished; an execution whose When is not after
// the epoch is always kept; a bound at or before the epoch sets no
// limit; the bounds are inclusive. The nil ExecFilter keeps everything.
type ExecFilter struct {
	OS     string          // "" for any
	Kinds  map[string]bool // nil for any
	window vqlkit.RecordFilter
}

// NewExecFilter builds the filter of the plugin's arguments; an unknown
// OS or kind, or a bound that is not a time, is an error (a typo is
// never an empty success).
func NewExecFilter(os string, kinds, after, before vfilter.Any) (*ExecFilter, error) {
	f := &ExecFilter{OS: os}
	if os != "" && os != catalog.Linux && os != catalog.Windows {
		return nil, fmt.Errorf("os: %q is not %s or %s", os, catalog.Linux, catalog.Windows)
	}
	var err error
	if f.Kinds, err = vqlkit.StringSet(kinds); err != nil {
		return nil, fmt.Errorf("kinds: %w", err)
	}
	known := map[string]bool{}
	for _, h := range catalog.Handlers {
		known[h.Kind] = true
	}
	for k := range f.Kinds {
		if !known[k] {
			names := make([]string, 0, len(known))
			for n := range known {
				names = append(names, n)
			}
			sort.Strings(names)
			return nil, fmt.Errorf("kinds: %q is not one of %s", k, strings.Join(names, ", "))
		}
	}
	w, err := vqlkit.NewRecordFilter(vqlkit.FilterArgs{After: after, Before: before})
	if err != nil {
		return nil, err
	}
	f.window = *w
	return f, nil
}

// keepKind: the kind's executions can be asked for.
func (f *ExecFilter) keepKind(k *catalog.Handler) bool {
	return f == nil || ((f.OS == "" || f.OS == k.OS) && (f.Kinds == nil || f.Kinds[k.Kind]))
}

// keepTimes: the execution's When (Started, else Finished) is in the window.
func (f *ExecFilter) keepTimes(started, finished interface{}) bool {
	if f == nil {
		return true
	}
	when, _ := started.(time.Time)
	if when = vqlkit.KnownTime(when); when.IsZero() {
		when, _ = finished.(time.Time)
	}
	return f.window.KeepTime(when)
}

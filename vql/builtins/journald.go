package builtins

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/evidence"
	"github.com/azvql/azvql/plugins/vqlkit"
	"www.velocidex.com/golang/vfilter"
)

// ParseJournaldArgs are Velociraptor v0.75.2's parse_journald arguments.
type ParseJournaldArgs struct {
	Filenames []string    `vfilter:"required,field=filename,doc=A list of journal log files to parse."`
	Accessor  string      `vfilter:"optional,field=accessor,doc=The accessor to use."`
	Raw       bool        `vfilter:"optional,field=raw,doc=Emit raw events (not parsed)."`
	StartTime vfilter.Any `vfilter:"optional,field=start_time,doc=Only parse events newer than this time (default all times)."`
	EndTime   vfilter.Any `vfilter:"optional,field=end_time,doc=Only parse events older than this time (default all times)."`
}

// ParseJournaldPlugin is parse_journald(): one row per journal entry,
// Velociraptor's shape: System (Seq, Timestamp, the trusted _ fields)
// and EventData (the client's fields), or with raw=TRUE Timestamp and
// every field as text. Unlike Velociraptor it decompresses XZ, LZ4 and
// ZSTD payloads, and reports what it skips in damaged files.
type ParseJournaldPlugin struct{}

// Info describes the plugin.
func (ParseJournaldPlugin) Info(scope vfilter.Scope, typeMap *vfilter.TypeMap) *vfilter.PluginInfo {
	return &vfilter.PluginInfo{
		Name:    "parse_journald",
		Doc:     "Parse a journald file.",
		ArgType: typeMap.AddType(scope, &ParseJournaldArgs{}),
		Version: 1,
	}
}

// Call runs the plugin.
func (ParseJournaldPlugin) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) <-chan vfilter.Row {
	arg := &ParseJournaldArgs{}
	return vqlkit.Run(ctx, scope, args, "parse_journald", arg, func(out chan vfilter.Row) {
		var start, end uint64 = 0, ^uint64(0)
		for _, t := range []struct {
			v   vfilter.Any
			dst *uint64
			arg string
		}{{arg.StartTime, &start, "start_time"}, {arg.EndTime, &end, "end_time"}} {
			if t.v == nil {
				continue
			}
			tm, ok := toTime(t.v)
			if !ok {
				vqlkit.Errorf(scope, "parse_journald", "%s: not a time: %v", t.arg, t.v)
				return
			}
			*t.dst = uint64(tm.UnixNano() / 1000)
		}
		acc, err := evidence.Get(scope, arg.Accessor)
		if err != nil {
			vqlkit.Logf(scope, "parse_journald", "%v", err)
			return
		}
		for _, name := range arg.Filenames {
			if !parseJournalFile(ctx, scope, acc, name, arg.Raw, start, end, out) {
				return
			}
		}
	})
}

// toTime reads a time argument: a time, epoch seconds or an RFC 3339 string.
func toTime(v vfilter.Any) (time.Time, bool) {
	switch t := v.(type) {
	case time.Time:
		return t, true
	case *time.Time:
		return *t, t != nil
	case int64:
		return time.Unix(t, 0), true
	case int:
		return time.Unix(int64(t), 0), true
	case float64:
		return time.Unix(0, int64(t*1e9)), true
	case string:
		tm, err := time.Parse(time.RFC3339Nano, t)
		return tm, err == nil
	}
	return time.Time{}, false
}

func parseJournalFile(ctx context.Context, scope vfilter.Scope, acc evidence.Accessor, name string, raw bool,
	start, end uint64, out chan vfilter.Row) bool {
	fd, err := acc.Open(name)
	if err != nil {
		vqlkit.Logf(scope, "parse_journald", "%s: %v", name, err)
		return true
	}
	defer fd.Close()
	ra, size, err := readerAtOf(fd)
	if err != nil {
		vqlkit.Logf(scope, "parse_journald", "%s: %v", name, err)
		return true
	}
	stopped := false
	err = ReadJournal(ra, size, func(msg string) {
		vqlkit.Logf(scope, "parse_journald", "%s: %s", name, msg)
	}, func(e *JournalEntry) bool {
		if e.Realtime < start || e.Realtime > end {
			return true
		}
		var row *ordereddict.Dict
		if raw {
			row = journalRaw(e)
		} else {
			row = journalParsed(e)
		}
		if !vqlkit.Send(ctx, out, row) {
			stopped = true
			return false
		}
		return true
	})
	if err != nil {
		vqlkit.Logf(scope, "parse_journald", "%s: %v", name, err)
	}
	return !stopped
}

func journalTime(us uint64) time.Time { return time.Unix(0, int64(us)*1000).UTC() }

// Fields Velociraptor turns into numbers (or times), and where they go.
var (
	journalIntFields = map[string]bool{"ERRONO": true, "CODE_LINE": true, "SYSLOG_FACILITY": true,
		"SYSLOG_PID": true, "TID": true, "PRIORITY": true}
	journalSystemIntFields = map[string]bool{"_PID": true, "_PPID": true, "_UID": true, "_EUID": true,
		"_FSUID": true, "_EGID": true, "_GID": true, "_AUDIT_LOGINUID": true, "_AUDIT_SESSION": true,
		"_AUDIT_TYPE": true, "_AUDIT_ID": true, "_AUDIT_FIELD_SYSCALL": true, "_AUDIT_FIELD_EXIT": true,
		"_AUDIT_FIELD_SUID": true, "_AUDIT_FIELD_SGID": true}
)

func journalParsed(e *JournalEntry) *ordereddict.Dict {
	system := ordereddict.NewDict().Set("Seq", e.Seq).Set("Timestamp", journalTime(e.Realtime))
	data := ordereddict.NewDict()
	for i, item := range e.Items {
		field, value, ok := strings.Cut(string(item), "=")
		if !ok {
			data.Set(fmt.Sprintf("Item%d", i), string(item))
			continue
		}
		n, nerr := strconv.ParseInt(value, 10, 64)
		switch {
		case nerr == nil && journalIntFields[field]:
			data.Set(field, n)
		case nerr == nil && journalSystemIntFields[field]:
			system.Set(field, n)
		case nerr == nil && field == "SYSLOG_TIMESTAMP":
			data.Set(field, time.Unix(n, 0).UTC())
		case nerr == nil && field == "_SOURCE_REALTIME_TIMESTAMP":
			system.Set(field[1:], journalTime(uint64(n)))
		case strings.HasPrefix(field, "_"):
			system.Set(field, value)
		default:
			data.Set(field, value)
		}
	}
	return ordereddict.NewDict().Set("System", system).Set("EventData", data)
}

func journalRaw(e *JournalEntry) *ordereddict.Dict {
	row := ordereddict.NewDict().Set("Timestamp", journalTime(e.Realtime))
	for i, item := range e.Items {
		if field, value, ok := strings.Cut(string(item), "="); ok {
			row.Set(field, value)
		} else {
			row.Set(fmt.Sprintf("Item%d", i), string(item))
		}
	}
	return row
}

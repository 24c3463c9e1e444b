package eventlog

import (
	"fmt"
	"strings"
	"time"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/catalog"
	"github.com/azvql/azvql/plugins/vqlkit"
)

// SummaryColumns are azure_eventlog_summary's columns.
var SummaryColumns = []string{"Kind", "Name", "Present", "Enabled", "Events", "First", "Last", "Operations", "Note", "OSPath"}

var summaryColumns = vqlkit.NewColumns(SummaryColumns...)

// Summary kinds.
const (
	KindHandler  = "handler"
	KindAgentLog = "agent log"
	KindAudit    = "audit source"
)

// auditSource is one log and event the plugins read, with what its
// absence most likely means.
type auditSource struct {
	name, file, channel string
	ids                 []int64
	absentFile, noEvent string
}

var auditSources = []auditSource{
	{"Security 4688", LogSecurity, ChanSecurity, []int64{evProcess},
		"no Security log", "no 4688 events: process auditing was probably off"},
	{"Sysmon 1", LogSysmon, ChanSysmon, []int64{evSysmonProc},
		"no Sysmon log: Sysmon was probably not installed", "no Sysmon 1 events"},
	{"PowerShell 4104", LogPSOper, ChanPSOper, []int64{4104},
		"no PowerShell/Operational log", "no 4104 events: script block logging was probably off"},
	{"PowerShell 4103", LogPSOper, ChanPSOper, []int64{4103},
		"no PowerShell/Operational log", "no 4103 events: module logging was probably off"},
	{"Windows PowerShell 400/403/600/800", LogPSClassic, ChanPSClassic, []int64{400, 403, 600, 800},
		"no Windows PowerShell log", "no engine or pipeline events: the log was probably cleared or rolled over"},
}

type tally struct {
	n           int64
	first, last time.Time
	ops         []string
	files       []string
}

func (t *tally) see(tm time.Time) {
	t.n++
	if !tm.IsZero() && (t.first.IsZero() || tm.Before(t.first)) {
		t.first = tm
	}
	if tm.After(t.last) {
		t.last = tm
	}
}

func (t *tally) op(o string) {
	if o == "" {
		return
	}
	for _, x := range t.ops {
		if x == o {
			return
		}
	}
	t.ops = append(t.ops, o)
}

func strList(l []string) interface{} {
	out := make([]interface{}, len(l))
	for i, s := range l {
		out[i] = s
	}
	return out
}

// Summary is every row of azure_eventlog_summary: each Windows handler
// of the catalogue (and any other the agent logs name) with its agent
// events, each agent log, and each audit source.
func (l *Logs) Summary(emit func(*ordereddict.Dict) bool) bool {
	return l.handlerSummary(emit) && l.auditSummary(emit)
}

func (l *Logs) handlerSummary(emit func(*ordereddict.Dict) bool) bool {
	handlers := map[string]*tally{}
	var names []string
	agentFiles := map[string]*tally{}
	for _, n := range AgentLogs {
		agentFiles[n] = &tally{files: l.Files(n)}
	}
	for _, n := range AgentLogs {
		ok := l.Read([]string{n}, func(ev Event) bool {
			agentFiles[n].see(ev.Time)
			h, folder, _, op := AgentEvent(&ev)
			name := folder
			if h != nil {
				name = h.Name
			}
			if name == "" {
				return true
			}
			t := handlers[strings.ToLower(name)]
			if t == nil {
				t = &tally{}
				handlers[strings.ToLower(name)] = t
				if h == nil {
					names = append(names, name)
				}
			}
			t.see(ev.Time)
			t.op(op)
			return true
		})
		if !ok {
			return false
		}
	}
	anyAgent := false
	for _, n := range AgentLogs {
		anyAgent = anyAgent || len(agentFiles[n].files) > 0
	}
	return emitHandlers(handlers, names, anyAgent, emit) && emitAgentLogs(agentFiles, emit)
}

// emitHandlers: a row per catalogued Windows handler, then per other
// handler the agent logs name.
func emitHandlers(handlers map[string]*tally, names []string, anyAgent bool, emit func(*ordereddict.Dict) bool) bool {
	all := []string{}
	for _, h := range catalog.Handlers {
		if h.OS == catalog.Windows {
			all = append(all, h.Name)
		}
	}
	for _, name := range append(all, names...) {
		t := handlers[strings.ToLower(name)]
		var note string
		present := t != nil
		switch {
		case present:
		case anyAgent:
			note = "no agent event names it: the VM probably never had it (or the agent logs rolled over)"
		default:
			note = "no Azure agent event log: the agent writes one at a handler's first install, so the VM probably never had an extension (or the logs were deleted)"
		}
		if t == nil {
			t = &tally{}
		}
		var ops interface{}
		if len(t.ops) > 0 {
			ops = strList(t.ops)
		}
		if !emit(summaryColumns.Row(KindHandler, name, present, nil, t.n, vqlkit.Time(t.first), vqlkit.Time(t.last),
			ops, vqlkit.Str(note), nil)) {
			return false
		}
	}
	return true
}

func emitAgentLogs(agentFiles map[string]*tally, emit func(*ordereddict.Dict) bool) bool {
	for _, n := range AgentLogs {
		t := agentFiles[n]
		note := ""
		if len(t.files) == 0 {
			note = "absent"
		} else if t.n == 0 {
			note = "no events"
		}
		if !emit(summaryColumns.Row(KindAgentLog, n, len(t.files) > 0, nil, t.n, vqlkit.Time(t.first), vqlkit.Time(t.last),
			nil, vqlkit.Str(note), files(t.files))) {
			return false
		}
	}
	return true
}

func files(f []string) interface{} {
	if len(f) == 0 {
		return nil
	}
	return strList(f)
}

func (l *Logs) auditSummary(emit func(*ordereddict.Dict) bool) bool {
	tallies := make([]tally, len(auditSources))
	cmdLines := int64(0) // 4688s with a command line
	read := map[string]bool{}
	for i, a := range auditSources {
		tallies[i].files = l.Files(a.file)
		if read[a.file] {
			continue
		}
		read[a.file] = true
		ok := l.Read([]string{a.file}, func(ev Event) bool {
			for k, b := range auditSources {
				if b.file != a.file || ev.Channel != b.channel {
					continue
				}
				for _, id := range b.ids {
					if ev.EventID == id {
						tallies[k].see(ev.Time)
						if id == evProcess && ev.Str("CommandLine") != "" {
							cmdLines++
						}
					}
				}
			}
			return true
		})
		if !ok {
			return false
		}
	}
	for i, a := range auditSources {
		t := &tallies[i]
		note := ""
		switch {
		case len(t.files) == 0:
			note = a.absentFile
		case t.n == 0:
			note = a.noEvent
		case a.ids[0] == evProcess && cmdLines == 0:
			note = "4688 events without command lines: command line auditing was probably off"
		case a.ids[0] == evProcess && cmdLines < t.n:
			note = fmt.Sprintf("%d of %d 4688 events with a command line", cmdLines, t.n)
		}
		var enabled interface{}
		if len(t.files) > 0 {
			enabled = t.n > 0
		}
		if !emit(summaryColumns.Row(KindAudit, a.name, len(t.files) > 0, enabled, t.n, vqlkit.Time(t.first), vqlkit.Time(t.last),
			nil, vqlkit.Str(note), files(t.files))) {
			return false
		}
	}
	return true
}

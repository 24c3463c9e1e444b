package eventlog

import (
	"sort"
	"strings"
	"time"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/redact"
	"github.com/azvql/azvql/plugins/vqlkit"
)

// How event-log evidence was tied to an execution (MatchedBy).
const (
	ByScriptPath    = "script path"                 // the event names the execution's script file
	ByScriptName    = "script name and time window" // a relative -File name (RC v1 runs in its Downloads folder), within the window
	ByHandlerWindow = "handler and time window"     // same handler, within the window around its run
	ByLogsOnly      = "event logs only"             // no execution on disk: grouped by handler, script and time
)

// Source values.
const (
	SourceBoth = "folder and event logs"
	SourceDisk = "folder"
	SourceLogs = "event logs"
)

// ExecutionColumns are azure_eventlog_executions' columns.
var ExecutionColumns = []string{
	"Handler", "HandlerFolder", "ExtensionName", "SeqNo", "ScriptPath", "Started", "Finished", "Source",
	"MatchedBy", "CommandLine", "ScriptText", "Processes", "PowerShell",
}

var executionColumns = vqlkit.NewColumns(ExecutionColumns...)

// DiskExecution is what the join reads of an azure_run_executions row.
type DiskExecution struct {
	Handler, ExtensionName string
	SeqNo                  interface{}
	ScriptPath             string
	Started, Finished      time.Time
}

// DiskExecutionFromRow reads an azure_run_executions row.
func DiskExecutionFromRow(d *ordereddict.Dict) DiskExecution {
	x := DiskExecution{}
	x.Handler, _ = get(d, "Handler").(string)
	x.ExtensionName, _ = get(d, "ExtensionName").(string)
	x.SeqNo = get(d, "SeqNo")
	x.ScriptPath, _ = get(d, "ScriptPath").(string)
	x.Started, _ = get(d, "Started").(time.Time)
	x.Finished, _ = get(d, "Finished").(time.Time)
	return x
}

// JoinedExecution is one row of ExecutionColumns.
type JoinedExecution struct {
	Disk      *DiskExecution
	Handler   string
	Folder    string
	Script    string
	Start     time.Time
	End       time.Time
	MatchedBy []string
	Procs     []*Process
	Scripts   []*Script
}

func (j *JoinedExecution) add(by string) {
	for _, b := range j.MatchedBy {
		if b == by {
			return
		}
	}
	j.MatchedBy = append(j.MatchedBy, by)
}

func (j *JoinedExecution) extend(t time.Time) {
	if t.IsZero() {
		return
	}
	if j.Start.IsZero() || t.Before(j.Start) {
		j.Start = t
	}
	if t.After(j.End) {
		j.End = t
	}
}

func samePath(a, b string) bool { return a != "" && strings.EqualFold(a, b) }

// scriptOf is the script a process ran (its command line's).
func scriptOf(p *Process) string { return ScriptOfCommand(p.CommandLine) }

// inWindow: t within window of the execution's start..finish.
func inWindow(t time.Time, x *DiskExecution, window time.Duration) bool {
	if t.IsZero() || x.Started.IsZero() {
		return false
	}
	end := x.Finished
	if end.Before(x.Started) {
		end = x.Started
	}
	return !t.Before(x.Started.Add(-window)) && !t.After(end.Add(window))
}

// treeKey names one process tree: descendants go with their root.
type treeKey struct {
	file      string
	boot, pid int64
}

func treeOf(p *Process) treeKey { return treeKey{p.OSPath, p.Boot, p.RootPid} }

// Join ties the handler processes and PowerShell events to the
// executions on disk (by script path, else by handler and time window),
// and groups what is left into executions known only from the logs.
func Join(disk []DiskExecution, procs []Process, scripts []Script, window time.Duration) []*JoinedExecution {
	var out []*JoinedExecution
	procTaken := make([]bool, len(procs))
	scriptTaken := make([]bool, len(scripts))
	for i := range disk {
		out = append(out, joinDisk(&disk[i], procs, scripts, procTaken, scriptTaken, window))
	}
	return append(out, logsOnly(procs, scripts, procTaken, scriptTaken, window)...)
}

// joinDisk takes the evidence not yet taken that belongs to x.
func joinDisk(x *DiskExecution, procs []Process, scripts []Script, procTaken, scriptTaken []bool, window time.Duration) *JoinedExecution {
	j := &JoinedExecution{Disk: x, Handler: x.Handler, Script: x.ScriptPath}
	trees := map[treeKey]bool{}
	for k := range procs {
		p := &procs[k]
		if procTaken[k] || p.Match == MatchDescendant || !strings.EqualFold(p.Handler, x.Handler) {
			continue
		}
		switch {
		case samePath(scriptOf(p), x.ScriptPath) || (x.ScriptPath != "" && lowerContains(p.CommandLine, x.ScriptPath)):
			j.add(ByScriptPath)
		case relativeName(scriptOf(p), x.ScriptPath) && inWindow(p.Time, x, window):
			j.add(ByScriptName)
		case inWindow(p.Time, x, window):
			j.add(ByHandlerWindow)
		default:
			continue
		}
		trees[treeOf(p)] = true
	}
	for k := range procs {
		if !procTaken[k] && trees[treeOf(&procs[k])] {
			procTaken[k] = true
			j.Procs = append(j.Procs, &procs[k])
		}
	}
	for k := range scripts {
		s := &scripts[k]
		if scriptTaken[k] || !strings.EqualFold(s.Handler, x.Handler) {
			continue
		}
		switch {
		case samePath(s.ScriptPath, x.ScriptPath):
			j.add(ByScriptPath)
		case inWindow(s.Time, x, window):
			j.add(ByHandlerWindow)
		default:
			continue
		}
		scriptTaken[k] = true
		j.Scripts = append(j.Scripts, s)
	}
	return j
}

// logsOnly groups what no execution on disk took: one execution per
// process tree, the PowerShell events of the same handler folder and
// script name (or with no script) within the window of it joining; then
// PowerShell alone.
func logsOnly(procs []Process, scripts []Script, procTaken, scriptTaken []bool, window time.Duration) []*JoinedExecution {
	var out []*JoinedExecution
	byTree := map[treeKey]*JoinedExecution{}
	for k := range procs {
		p := &procs[k]
		if procTaken[k] {
			continue
		}
		j := byTree[treeOf(p)]
		if j == nil {
			// The same run seen by another log (Security and Sysmon):
			// its root runs the same script within the window.
			for _, o := range out {
				if o.Folder == p.Folder && o.Procs[0].OSPath != p.OSPath && sameScript(o.Script, scriptOf(p)) &&
					!p.Time.Before(o.Start.Add(-window)) && !p.Time.After(o.End.Add(window)) {
					j = o
					break
				}
			}
		}
		if j == nil {
			j = &JoinedExecution{Handler: p.Handler, Folder: p.Folder}
			j.add(ByLogsOnly)
			out = append(out, j)
		}
		byTree[treeOf(p)] = j
		if j.Script == "" {
			j.Script = scriptOf(p)
		}
		j.extend(p.Time)
		j.Procs = append(j.Procs, p)
	}
	for k := range scripts {
		s := &scripts[k]
		if scriptTaken[k] {
			continue
		}
		var into *JoinedExecution
		for _, j := range out {
			if j.Folder == s.Folder && sameScript(j.Script, s.ScriptPath) &&
				!s.Time.Before(j.Start.Add(-window)) && !s.Time.After(j.End.Add(window)) {
				into = j
				break
			}
		}
		if into == nil {
			into = &JoinedExecution{Handler: s.Handler, Folder: s.Folder}
			into.add(ByLogsOnly)
			out = append(out, into)
		}
		if !strings.ContainsAny(into.Script, `\/`) && s.ScriptPath != "" {
			into.Script = s.ScriptPath // the full path over a relative -File name
		}
		into.extend(s.Time)
		into.Scripts = append(into.Scripts, s)
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Start.Before(out[b].Start) })
	return out
}

// relativeName: s is a bare file name, the name of path's file.
func relativeName(s, path string) bool {
	return s != "" && path != "" && !strings.ContainsAny(s, `\/`) && strings.EqualFold(s, baseName(path))
}

// sameScript: the same file, or a relative name (RC v1 runs -File
// script0.ps1 in its Downloads folder) of it, or no script known.
func sameScript(a, b string) bool {
	if a == "" || b == "" {
		return true
	}
	return strings.EqualFold(baseName(a), baseName(b))
}

func (j *JoinedExecution) row(red bool) *ordereddict.Dict {
	var ext, seq interface{}
	started, finished := j.Start, j.End
	source := SourceLogs
	if j.Disk != nil {
		ext, seq = vqlkit.Str(j.Disk.ExtensionName), j.Disk.SeqNo
		started, finished = j.Disk.Started, j.Disk.Finished
		source = SourceDisk
		if len(j.Procs)+len(j.Scripts) > 0 {
			source = SourceBoth
		}
	}
	folder := j.Folder
	if folder == "" {
		folder = j.Handler
	}
	var cmd, text string
	procs := make([]interface{}, 0, len(j.Procs))
	for _, p := range j.Procs {
		if cmd == "" && p.Match != MatchDescendant {
			cmd = p.CommandLine
		}
		procs = append(procs, p.row(red))
	}
	scripts := make([]interface{}, 0, len(j.Scripts))
	var texts []string
	for _, s := range j.Scripts {
		if cmd == "" && s.HostApplication != "" {
			cmd = s.HostApplication
		}
		if s.EventID == 4104 && s.Text != "" {
			texts = append(texts, s.Text)
		}
		scripts = append(scripts, s.row(red))
	}
	text = strings.Join(texts, "\n")
	if red {
		cmd, text = redact.CommandLine(cmd), redactText(text)
	}
	var by interface{}
	if len(j.MatchedBy) > 0 {
		by = strings.Join(j.MatchedBy, ", ")
	}
	return executionColumns.Row(vqlkit.Str(j.Handler), vqlkit.Str(folder), ext, seq, vqlkit.Str(j.Script),
		vqlkit.Time(started), vqlkit.Time(finished), source, by, vqlkit.Str(cmd), vqlkit.Str(text), procs, scripts)
}

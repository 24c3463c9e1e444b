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
	"MatchedBy", "CommandLine", "ScriptText", "Processes", "PowerShell", "ProcessesLeftOut", "PowerShellLeftOut",
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

// ListLimit bounds the Processes and PowerShell lists of one execution
// row (ProcessesLeftOut and PowerShellLeftOut count the rest): a handler
// tree of a million processes must not become a row of a million.
const ListLimit = 1000

// JoinedExecution is one row of ExecutionColumns.
type JoinedExecution struct {
	Disk      *DiskExecution
	Handler   string
	Folder    string
	Script    string
	Start     time.Time
	End       time.Time
	MatchedBy []string
	Procs     []*Process // the first ListLimit, in the order read
	Scripts   []*Script  // the first ListLimit, in time order
	// ProcsLeftOut and ScriptsLeftOut count what the lists leave out.
	ProcsLeftOut, ScriptsLeftOut int64
	// ProcCommand is the command line of its first process that is not
	// a descendant (CommandLine; a script's HostApplication otherwise).
	ProcCommand string
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

// seqProc is a process with its place in the order the logs were read.
type seqProc struct {
	seq int64
	p   Process
}

// seqKind is a MatchedBy value with the place of its first match.
type seqKind struct {
	seq int64
	by  string
}

// procTree is what the join keeps of one process tree: its first
// ListLimit processes, a count, and what the grouping and the row need
// of the others.
type procTree struct {
	first       int64 // place of its first process
	firstTime   time.Time
	firstFile   string
	firstScript string // the script its first process ran
	handler     string
	folder      string
	exec        int       // the first execution on disk (in their order) it belongs to; -1: none
	kinds       []seqKind // how it matched exec
	procs       []seqProc
	total       int64
	cmd         string // the first command line of a process that is not a descendant
	cmdSeq      int64
	script      string // the first script a process of it ran
	scriptSeq   int64
	start, end  time.Time
}

func (t *procTree) kind(seq int64, by string) {
	for _, k := range t.kinds {
		if k.by == by {
			return
		}
	}
	t.kinds = append(t.kinds, seqKind{seq, by})
}

// Joiner ties handler processes (handed over as the logs are read) and
// PowerShell rows to the executions on disk, by script path, else by
// handler and time window, and groups what is left into executions known
// only from the logs. It keeps per process tree its first ListLimit
// processes and a count, so memory grows with the trees (executions),
// not with the events.
type Joiner struct {
	disk   []DiskExecution
	window time.Duration
	limit  int
	seq    int64
	trees  map[treeKey]*procTree
	order  []*procTree // by first process
}

// NewJoiner joins to the executions on disk, in their order: the first
// an event matches takes it.
func NewJoiner(disk []DiskExecution, window time.Duration, limit int) *Joiner {
	return &Joiner{disk: disk, window: window, limit: limit, trees: map[treeKey]*procTree{}}
}

// matchDisk is how a process that is not a descendant belongs to x ("":
// it does not).
func matchDisk(p *Process, script string, x *DiskExecution, window time.Duration) string {
	if !strings.EqualFold(p.Handler, x.Handler) {
		return ""
	}
	switch {
	case samePath(script, x.ScriptPath) || (x.ScriptPath != "" && lowerContains(p.CommandLine, x.ScriptPath)):
		return ByScriptPath
	case relativeName(script, x.ScriptPath) && inWindow(p.Time, x, window):
		return ByScriptName
	case inWindow(p.Time, x, window):
		return ByHandlerWindow
	}
	return ""
}

// AddProcess takes the next process of the logs (Security first, then
// Sysmon, each in the order logged, as EachHandlerProcess hands them).
// A tree belongs to the first execution on disk that any of its
// processes (not descendants) matches.
func (jn *Joiner) AddProcess(p Process) {
	seq := jn.seq
	jn.seq++
	t := jn.trees[treeOf(&p)]
	script := scriptOf(&p)
	if t == nil {
		t = &procTree{first: seq, firstTime: p.Time, firstFile: p.OSPath, firstScript: script,
			handler: p.Handler, folder: p.Folder, exec: -1, cmdSeq: -1, scriptSeq: -1}
		jn.trees[treeOf(&p)] = t
		jn.order = append(jn.order, t)
	}
	if p.Match != MatchDescendant {
		last := len(jn.disk) - 1
		if t.exec >= 0 {
			last = t.exec
		}
		for i := 0; i <= last; i++ {
			by := matchDisk(&p, script, &jn.disk[i], jn.window)
			if by == "" {
				continue
			}
			if i < t.exec || t.exec < 0 {
				t.exec, t.kinds = i, nil
			}
			t.kind(seq, by)
			break
		}
		if t.cmdSeq < 0 && p.CommandLine != "" {
			t.cmd, t.cmdSeq = p.CommandLine, seq
		}
	}
	if t.scriptSeq < 0 && script != "" {
		t.script, t.scriptSeq = script, seq
	}
	if !p.Time.IsZero() {
		if t.start.IsZero() || p.Time.Before(t.start) {
			t.start = p.Time
		}
		if p.Time.After(t.end) {
			t.end = p.Time
		}
	}
	t.total++
	if len(t.procs) < jn.limit {
		t.procs = append(t.procs, seqProc{seq, p})
	}
}

// group is an execution being built from trees.
type group struct {
	j         *JoinedExecution
	firstFile string
	procs     []seqProc
	total     int64
	cmdSeq    int64
	scriptSeq int64
	kinds     []seqKind
}

func newGroup(j *JoinedExecution) *group { return &group{j: j, cmdSeq: -1, scriptSeq: -1} }

// take adds a tree's processes.
func (g *group) take(t *procTree) {
	g.procs = append(g.procs, t.procs...)
	g.total += t.total
	if t.cmdSeq >= 0 && (g.cmdSeq < 0 || t.cmdSeq < g.cmdSeq) {
		g.j.ProcCommand, g.cmdSeq = t.cmd, t.cmdSeq
	}
	for _, k := range t.kinds {
		found := false
		for i := range g.kinds {
			if g.kinds[i].by == k.by {
				found = true
				if k.seq < g.kinds[i].seq {
					g.kinds[i].seq = k.seq
				}
			}
		}
		if !found {
			g.kinds = append(g.kinds, k)
		}
	}
	if g.j.Disk == nil { // an execution on disk has its own times
		g.j.extend(t.start)
		g.j.extend(t.end)
	}
}

// done puts the kept processes in the order read, within the limit.
func (g *group) done(limit int) {
	sort.Slice(g.procs, func(a, b int) bool { return g.procs[a].seq < g.procs[b].seq })
	if len(g.procs) > limit {
		g.procs = g.procs[:limit]
	}
	g.j.Procs = make([]*Process, len(g.procs))
	for i := range g.procs {
		g.j.Procs[i] = &g.procs[i].p
	}
	g.j.ProcsLeftOut = g.total - int64(len(g.procs))
	sort.SliceStable(g.kinds, func(a, b int) bool { return g.kinds[a].seq < g.kinds[b].seq })
	for _, k := range g.kinds {
		g.j.add(k.by)
	}
}

func (j *JoinedExecution) addScript(s *Script, limit int) {
	if len(j.Scripts) < limit {
		j.Scripts = append(j.Scripts, s)
	} else {
		j.ScriptsLeftOut++
	}
}

// Finish joins the PowerShell rows (time ordered) and returns the
// executions on disk, in their order, then those known only from the
// logs, by their first event.
func (jn *Joiner) Finish(scripts []Script) []*JoinedExecution {
	disk := make([]*group, len(jn.disk))
	for i := range jn.disk {
		x := &jn.disk[i]
		disk[i] = newGroup(&JoinedExecution{Disk: x, Handler: x.Handler, Script: x.ScriptPath})
	}
	var logs []*group
	for _, t := range jn.order {
		if t.exec >= 0 {
			disk[t.exec].take(t)
			continue
		}
		// The same run seen by another log (Security and Sysmon): its
		// root runs the same script within the window.
		var g *group
		for _, o := range logs {
			if o.j.Folder == t.folder && o.firstFile != t.firstFile && sameScript(o.j.Script, t.firstScript) &&
				!t.firstTime.Before(o.j.Start.Add(-jn.window)) && !t.firstTime.After(o.j.End.Add(jn.window)) {
				g = o
				break
			}
		}
		if g == nil {
			g = newGroup(&JoinedExecution{Handler: t.handler, Folder: t.folder})
			g.firstFile = t.firstFile
			g.j.add(ByLogsOnly)
			logs = append(logs, g)
		}
		if t.scriptSeq >= 0 && (g.scriptSeq < 0 || t.scriptSeq < g.scriptSeq) {
			g.j.Script, g.scriptSeq = t.script, t.scriptSeq
		}
		g.take(t)
	}
	for _, g := range disk {
		g.done(jn.limit)
	}
	for _, g := range logs {
		g.done(jn.limit)
	}
	out := make([]*JoinedExecution, 0, len(disk)+len(logs))
	for _, g := range disk {
		out = append(out, g.j)
	}
	var only []*JoinedExecution
	for _, g := range logs {
		only = append(only, g.j)
	}
	for k := range scripts {
		s := &scripts[k]
		if jn.joinScriptToDisk(s, out) {
			continue
		}
		var into *JoinedExecution
		for _, j := range only {
			if j.Folder == s.Folder && sameScript(j.Script, s.ScriptPath) &&
				!s.Time.Before(j.Start.Add(-jn.window)) && !s.Time.After(j.End.Add(jn.window)) {
				into = j
				break
			}
		}
		if into == nil {
			into = &JoinedExecution{Handler: s.Handler, Folder: s.Folder}
			into.add(ByLogsOnly)
			only = append(only, into)
		}
		if !strings.ContainsAny(into.Script, `\/`) && s.ScriptPath != "" {
			into.Script = s.ScriptPath // the full path over a relative -File name
		}
		into.extend(s.Time)
		into.addScript(s, jn.limit)
	}
	sort.SliceStable(only, func(a, b int) bool { return only[a].Start.Before(only[b].Start) })
	return append(out, only...)
}

// joinScriptToDisk gives s to the first execution on disk it belongs to.
func (jn *Joiner) joinScriptToDisk(s *Script, disk []*JoinedExecution) bool {
	for _, j := range disk {
		x := j.Disk
		if !strings.EqualFold(s.Handler, x.Handler) {
			continue
		}
		switch {
		case samePath(s.ScriptPath, x.ScriptPath):
			j.add(ByScriptPath)
		case inWindow(s.Time, x, jn.window):
			j.add(ByHandlerWindow)
		default:
			continue
		}
		j.addScript(s, jn.limit)
		return true
	}
	return false
}

// Join is the Joiner over processes and PowerShell rows in hand.
func Join(disk []DiskExecution, procs []Process, scripts []Script, window time.Duration) []*JoinedExecution {
	jn := NewJoiner(disk, window, ListLimit)
	for i := range procs {
		jn.AddProcess(procs[i])
	}
	return jn.Finish(scripts)
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
	cmd, text := j.ProcCommand, ""
	procs := make([]interface{}, 0, len(j.Procs))
	for _, p := range j.Procs {
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
		vqlkit.Time(started), vqlkit.Time(finished), source, by, vqlkit.Str(cmd), vqlkit.Str(text), procs, scripts,
		j.ProcsLeftOut, j.ScriptsLeftOut)
}

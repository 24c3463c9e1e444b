package eventlog

import (
	"strings"
	"time"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/catalog"
	"github.com/azvql/azvql/plugins/redact"
	"github.com/azvql/azvql/plugins/vqlkit"
)

// Process-creation sources.
const (
	ChanSecurity = "Security"
	ChanSysmon   = "Microsoft-Windows-Sysmon/Operational"
	evProcess    = 4688 // Security: a new process has been created
	evExit       = 4689 // Security: a process has exited
	evBoot       = 4608 // Security: Windows is starting up
	evSysmonProc = 1    // Sysmon: process create
	evSysmonExit = 5    // Sysmon: process terminated
)

// Match values: why a process is in a handler's tree.
const (
	MatchHandlerProcess = "handler process"           // its image is a handler's program or under Packages\Plugins
	MatchHandlerParent  = "parent is handler process" // its parent's creation is not logged, the parent's image is
	MatchCommandLine    = "command line names handler folder"
	MatchDescendant     = "descendant"
)

// ProcessColumns are azure_handler_processes' columns.
var ProcessColumns = []string{
	"Time", "Channel", "EventID", "Boot", "Handler", "HandlerFolder", "Match", "Depth", "RootPid",
	"Pid", "ParentPid", "Image", "ParentImage", "CommandLine", "User", "Computer", "RecordID", "OSPath",
}

var processColumns = vqlkit.NewColumns(ProcessColumns...)

// Process is one process creation in a handler's tree.
type Process struct {
	Time        time.Time
	Channel     string
	EventID     int64
	Boot        int64 // 4608 boot markers seen before it in its log
	Handler     string
	Folder      string
	Match       string
	Depth       int64
	RootPid     int64
	Pid         int64
	ParentPid   int64
	Image       string
	ParentImage string
	CommandLine string
	User        string
	Computer    string
	RecordID    int64
	OSPath      string
}

// ProcessTrees rebuilds the process trees of one log's creation events
// (in the order they were logged; 4688, 4689 and 4608 from Security, or
// Sysmon 1 and 5) and returns the processes a handler started and their
// descendants. A process id names the latest process created with it
// within one boot; a 4608 ends the boot (ids are reused across boots).
func ProcessTrees(events []Event) []Process {
	var out []Process
	b := newTreeBuilder()
	for i := range events {
		if p, ok := b.add(&events[i]); ok {
			out = append(out, p)
		}
	}
	return out
}

// treeRoot is what the processes of one tree share.
type treeRoot struct {
	pid             int64
	handler, folder string
}

// procNode is what a child needs of a live process in a tree: its depth,
// its tree and its image (the child's ParentImage when its event has
// none), the last two as indexes into the builder's tables: 12 bytes a
// process, as a worst-case log keeps a million of them. Processes
// outside the trees are not kept: a child of one is judged on its own,
// as if its parent were unknown.
type procNode struct {
	depth int32
	tree  uint32
	image uint32
}

// treeBuilder keeps one small node per live process id in a handler's
// tree, not the events, so a large Security log is streamed. A node goes
// when its process exits (4689, Sysmon 5), when a new process takes its
// id, and when the boot ends (with the tables).
type treeBuilder struct {
	live   map[int64]procNode
	roots  table[treeRoot] // the boot's trees, each once
	images table[string]   // the images of processes in trees, each once
	boot   int64
}

// table numbers values, each kept once: a node holds a 4-byte number,
// not the value.
type table[T comparable] struct {
	vals []T
	ids  map[T]uint32
}

func (t *table[T]) id(v T) uint32 {
	id, ok := t.ids[v]
	if !ok {
		id = uint32(len(t.vals))
		t.vals = append(t.vals, v)
		t.ids[v] = id
	}
	return id
}

func newTreeBuilder() *treeBuilder {
	b := &treeBuilder{}
	b.reset()
	return b
}

func (b *treeBuilder) reset() {
	b.live = map[int64]procNode{}
	b.roots = table[treeRoot]{ids: map[treeRoot]uint32{}}
	b.images = table[string]{ids: map[string]uint32{}}
}

// add reads one event; ok when it is a process in a handler's tree.
func (b *treeBuilder) add(ev *Event) (Process, bool) {
	if ev.Channel == ChanSecurity && ev.EventID == evBoot {
		b.boot++
		b.reset()
		return Process{}, false
	}
	if pid, ok := exit(ev); ok {
		delete(b.live, pid)
		return Process{}, false
	}
	p, ok := creation(ev)
	if !ok {
		return p, false
	}
	p.Boot = b.boot
	in := false
	if parent, ok := b.live[p.ParentPid]; ok {
		in = true
		t := &b.roots.vals[parent.tree]
		p.Match, p.Depth, p.RootPid = MatchDescendant, int64(parent.depth)+1, t.pid
		p.Handler, p.Folder = t.handler, t.folder
		if p.ParentImage == "" {
			p.ParentImage = b.images.vals[parent.image]
		}
		b.live[p.Pid] = procNode{depth: parent.depth + 1, tree: parent.tree, image: b.images.id(p.Image)}
	} else if in = root(&p); in {
		b.live[p.Pid] = procNode{depth: int32(p.Depth), tree: b.roots.id(treeRoot{p.RootPid, p.Handler, p.Folder}),
			image: b.images.id(p.Image)}
	} else {
		// A process outside the trees that took the id of one in a
		// tree: a later child is not the tree's.
		delete(b.live, p.Pid)
	}
	return p, in
}

// root marks a process whose parent is not in a tree: a handler's
// program, the child of one whose creation was not logged, or a command
// line naming a handler folder.
func root(p *Process) bool {
	var h *catalog.Handler
	var name string
	if h, name = HandlerOfImage(p.Image); name != "" {
		p.Match, p.RootPid, p.Folder = MatchHandlerProcess, p.Pid, name
	} else if h, name = HandlerOfImage(p.ParentImage); name != "" {
		p.Match, p.Depth, p.RootPid, p.Folder = MatchHandlerParent, 1, p.ParentPid, name
	} else if h, name = HandlerInPath(p.CommandLine); name != "" {
		p.Match, p.RootPid, p.Folder = MatchCommandLine, p.Pid, name
	} else {
		return false
	}
	if h != nil {
		p.Handler = h.Name
	}
	return true
}

// exit reads a 4689 or Sysmon 5 event: the id of the process that ended.
func exit(ev *Event) (int64, bool) {
	switch {
	case ev.Channel == ChanSecurity && ev.EventID == evExit, ev.Channel == ChanSysmon && ev.EventID == evSysmonExit:
		return ev.Int("ProcessId")
	}
	return 0, false
}

// creation reads a 4688 or Sysmon 1 event.
func creation(ev *Event) (Process, bool) {
	p := Process{Time: ev.Time, Channel: ev.Channel, EventID: ev.EventID, Computer: ev.Computer,
		RecordID: ev.RecordID, OSPath: ev.OSPath}
	switch {
	case ev.Channel == ChanSecurity && ev.EventID == evProcess:
		p.Pid, _ = ev.Int("NewProcessId")
		p.ParentPid, _ = ev.Int("ProcessId")
		p.Image = ev.Str("NewProcessName")
		p.ParentImage = ev.Str("ParentProcessName") // version 2 and later
		p.CommandLine = ev.Str("CommandLine")
		p.User = joinUser(ev.Str("SubjectDomainName"), ev.Str("SubjectUserName"))
	case ev.Channel == ChanSysmon && ev.EventID == evSysmonProc:
		p.Pid, _ = ev.Int("ProcessId")
		p.ParentPid, _ = ev.Int("ParentProcessId")
		p.Image = ev.Str("Image")
		p.ParentImage = ev.Str("ParentImage")
		p.CommandLine = ev.Str("CommandLine")
		p.User = ev.Str("User")
	default:
		return p, false
	}
	return p, true
}

func joinUser(domain, user string) string {
	if user == "" || user == "-" {
		return ""
	}
	if domain == "" || domain == "-" {
		return user
	}
	return domain + `\` + user
}

func (p *Process) row(red bool) *ordereddict.Dict {
	cl := p.CommandLine
	if red {
		cl = redact.CommandLine(cl)
	}
	return processColumns.Row(vqlkit.Time(p.Time), p.Channel, p.EventID, p.Boot, vqlkit.Str(p.Handler),
		vqlkit.Str(p.Folder), p.Match, p.Depth, p.RootPid, p.Pid, p.ParentPid, vqlkit.Str(p.Image),
		vqlkit.Str(p.ParentImage), vqlkit.Str(cl), vqlkit.Str(p.User), vqlkit.Str(p.Computer), p.RecordID, p.OSPath)
}

// isProcessEvent keeps what ProcessTrees reads.
func isProcessEvent(ev *Event) bool {
	return (ev.Channel == ChanSecurity && (ev.EventID == evProcess || ev.EventID == evExit || ev.EventID == evBoot)) ||
		(ev.Channel == ChanSysmon && (ev.EventID == evSysmonProc || ev.EventID == evSysmonExit))
}

// HandlerProcesses reads Security and Sysmon, each in the order it was
// logged, and returns each log's handler trees, Security first.
func (l *Logs) HandlerProcesses() ([]Process, bool) {
	var out []Process
	ok := l.EachHandlerProcess(func(p Process) bool {
		out = append(out, p)
		return true
	})
	return out, ok
}

// EachHandlerProcess is HandlerProcesses handing each process to fn as
// soon as it is read, so memory holds the live tree, not the log's
// processes; fn returning false stops the reading (false is returned).
func (l *Logs) EachHandlerProcess(fn func(Process) bool) bool {
	for _, name := range []string{LogSecurity, LogSysmon} {
		for _, f := range l.Files(name) {
			b := newTreeBuilder()
			stopped := false
			ok := l.ReadFile(f, func(ev Event) bool {
				if isProcessEvent(&ev) {
					if p, in := b.add(&ev); in && !fn(p) {
						stopped = true
						return false
					}
				}
				return true
			})
			if !ok || stopped {
				return false
			}
		}
	}
	return true
}

// lowerContains is a case-insensitive strings.Contains.
func lowerContains(s, sub string) bool {
	return sub != "" && strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

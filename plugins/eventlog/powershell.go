package eventlog

import (
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/redact"
	"github.com/azvql/azvql/plugins/vqlkit"
)

// PowerShell channels.
const (
	ChanPSClassic = "Windows PowerShell"
	ChanPSOper    = "Microsoft-Windows-PowerShell/Operational"
)

// PowerShellColumns are azure_handler_powershell's columns.
var PowerShellColumns = []string{
	"Time", "LastTime", "Channel", "EventID", "Handler", "HandlerFolder", "ScriptPath", "HostApplication",
	"ScriptBlockId", "MessageTotal", "Parts", "MissingParts", "Text", "Computer", "RecordID", "OSPath",
}

var powershellColumns = vqlkit.NewColumns(PowerShellColumns...)

// Script is one PowerShell event (or one reassembled 4104 script block)
// that ran a script from a handler folder.
type Script struct {
	Time, LastTime  time.Time
	Channel         string
	EventID         int64
	Handler, Folder string
	ScriptPath      string
	HostApplication string
	ScriptBlockID   string
	MessageTotal    int64
	Parts           int64
	Missing         []int64
	Text            string
	Computer        string
	RecordID        int64
	OSPath          string
}

var (
	// key=value lines of the classic events' detail text
	detailRe = regexp.MustCompile(`(?m)^\s*(HostApplication|ScriptName|CommandLine)=(.*?)\r?$`)
	// 4103 ContextInfo lines: "        Script Name = C:\..."
	contextRe = regexp.MustCompile(`(?m)^\s*(Host Application|Script Name|Command Name) = (.*?)\r?$`)
	fileArgRe = regexp.MustCompile(`(?i)-f(?:ile)?\s+("[^"]+"|'[^']+'|\S+)`)
	ps1Re     = regexp.MustCompile(`(?i)("[^"]+\.ps1"|'[^']+\.ps1'|[^\s"']+\.ps1)`)
)

// ScriptOfCommand is the script a PowerShell command line runs: the
// -File argument, else the first *.ps1 it names.
func ScriptOfCommand(cmd string) string {
	m := fileArgRe.FindStringSubmatch(cmd)
	if m == nil {
		m = ps1Re.FindStringSubmatch(cmd)
	}
	if m == nil {
		return ""
	}
	return strings.Trim(m[1], `"'`)
}

func details(re *regexp.Regexp, texts []string) map[string]string {
	out := map[string]string{}
	for _, t := range texts {
		for _, m := range re.FindAllStringSubmatch(t, -1) {
			if _, seen := out[m[1]]; !seen && strings.TrimSpace(m[2]) != "" {
				out[m[1]] = strings.TrimSpace(m[2])
			}
		}
	}
	return out
}

// HandlerScripts selects and reassembles the PowerShell events (time
// ordered) that ran a script from a handler folder: Windows PowerShell
// 400/403/600/800 by HostApplication or ScriptName, 4103 by its context,
// 4104 script blocks by Path, the parts of a block joined by
// ScriptBlockId in MessageNumber order.
func HandlerScripts(events []Event) []Script {
	var out []Script
	blocks := map[string]*block{}
	var order []string
	for i := range events {
		ev := &events[i]
		s := Script{Time: ev.Time, LastTime: ev.Time, Channel: ev.Channel, EventID: ev.EventID,
			Computer: ev.Computer, RecordID: ev.RecordID, OSPath: ev.OSPath}
		switch {
		case ev.Channel == ChanPSClassic && (ev.EventID == 400 || ev.EventID == 403 || ev.EventID == 600 || ev.EventID == 800):
			d := details(detailRe, ev.Strings)
			s.HostApplication = d["HostApplication"]
			s.ScriptPath = d["ScriptName"]
			if s.ScriptPath == "" {
				s.ScriptPath = ScriptOfCommand(s.HostApplication)
			}
			if ev.EventID == 800 {
				s.Text = d["CommandLine"]
			}
		case ev.Channel == ChanPSOper && ev.EventID == 4103:
			d := details(contextRe, ev.Texts())
			s.HostApplication = d["Host Application"]
			s.ScriptPath = d["Script Name"]
			if s.ScriptPath == "" {
				s.ScriptPath = ScriptOfCommand(s.HostApplication)
			}
			s.Text = ev.Str("Payload")
		case ev.Channel == ChanPSOper && ev.EventID == 4104:
			id := ev.Str("ScriptBlockId")
			b := blocks[id]
			if b == nil {
				b = &block{s: s, parts: map[int64]string{}}
				b.s.ScriptBlockID, b.s.ScriptPath = id, ev.Str("Path")
				blocks[id] = b
				order = append(order, id)
			}
			n, _ := ev.Int("MessageNumber")
			if t, ok := ev.Int("MessageTotal"); ok && t > b.s.MessageTotal {
				b.s.MessageTotal = t
			}
			if _, dup := b.parts[n]; !dup {
				b.parts[n] = ev.Str("ScriptBlockText")
			}
			if b.s.ScriptPath == "" {
				b.s.ScriptPath = ev.Str("Path")
			}
			b.s.LastTime = ev.Time
			continue
		default:
			continue
		}
		if s.setHandler() {
			out = append(out, s)
		}
	}
	for _, id := range order {
		b := blocks[id]
		s := b.s
		nums := make([]int64, 0, len(b.parts))
		for n := range b.parts {
			nums = append(nums, n)
		}
		sort.Slice(nums, func(i, j int) bool { return nums[i] < nums[j] })
		var text strings.Builder
		for _, n := range nums {
			text.WriteString(b.parts[n])
		}
		s.Text, s.Parts = text.String(), int64(len(nums))
		for n := int64(1); n <= s.MessageTotal && n <= 100000; n++ {
			if _, ok := b.parts[n]; !ok {
				s.Missing = append(s.Missing, n)
			}
		}
		if s.setHandler() {
			out = append(out, s)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}

type block struct {
	s     Script
	parts map[int64]string
}

// setHandler names the handler whose folder the script path or host
// command line names; false when neither does.
func (s *Script) setHandler() bool {
	h, name := HandlerInPath(s.ScriptPath)
	if name == "" {
		h, name = HandlerInPath(s.HostApplication)
	}
	if name == "" {
		return false
	}
	s.Folder = name
	if h != nil {
		s.Handler = h.Name
	}
	return true
}

func (s *Script) row(red bool) *ordereddict.Dict {
	host, text := s.HostApplication, s.Text
	if red {
		host, text = redact.CommandLine(host), redactText(text)
	}
	var total, parts, missing interface{}
	if s.EventID == 4104 {
		total, parts = s.MessageTotal, s.Parts
		l := make([]interface{}, len(s.Missing))
		for i, n := range s.Missing {
			l[i] = n
		}
		missing = l
	}
	return powershellColumns.Row(vqlkit.Time(s.Time), vqlkit.Time(s.LastTime), s.Channel, s.EventID,
		vqlkit.Str(s.Handler), vqlkit.Str(s.Folder), vqlkit.Str(s.ScriptPath), vqlkit.Str(host),
		vqlkit.Str(s.ScriptBlockID), total, parts, missing, vqlkit.Str(text), vqlkit.Str(s.Computer), s.RecordID, s.OSPath)
}

// isPowerShellEvent keeps the events HandlerScripts reads that name a
// handler folder somewhere (every 4104 part carries its Path), without
// the raw row: a large log is not held in memory.
func isPowerShellEvent(ev *Event) bool {
	if ev.Channel != ChanPSClassic && !(ev.Channel == ChanPSOper && (ev.EventID == 4103 || ev.EventID == 4104)) {
		return false
	}
	for _, t := range ev.Texts() {
		if _, name := HandlerInPath(t); name != "" {
			ev.Raw = nil
			return true
		}
	}
	return false
}

// HandlerPowerShell reads both PowerShell logs.
func (l *Logs) HandlerPowerShell() ([]Script, bool) {
	evs, ok := l.All([]string{LogPSClassic, LogPSOper}, isPowerShellEvent)
	return HandlerScripts(evs), ok
}

// redactText redacts script text line by line: a command-line pattern
// must not run across lines ("net user" at a line's end would take the
// next line's first word for a password).
func redactText(s string) string {
	if s == "" {
		return s
	}
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		lines[i] = redact.CommandLine(l)
	}
	return strings.Join(lines, "")
}

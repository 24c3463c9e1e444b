package timeline

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/evidence"
	"github.com/azvql/azvql/plugins/vqlkit"
)

// The log files each artifact reads (Linux.Azure.AgentLogs,
// Linux.Azure.HandlerLogs, Windows.Azure.AgentLogs): the same patterns,
// walked here under the root.
var (
	waagentLogs    = []string{"waagent.log*", "syslog*", "messages*"}
	handlerLogs    = []string{"*.log", "*.log.[0-9]*", "*.log-*"}
	windowsAgent   = []string{"WaAppAgent*.log", "TransparentInstaller*.log"}
	syslogFileName = regexp.MustCompile(`^(syslog|messages)`)
)

// logRow is a log record with an Event as a timeline row.
func (b *builder) logRow(d *ordereddict.Dict, src, osPath string) error {
	r := b.base(d, src)
	r.Time, r.TimeKind = timep(get(d, "Time")), sp("Logged")
	r.Summary = logLine(get(d, "Event"), get(d, "Message"))
	r.OSPath = &osPath
	return b.emit(r)
}

// logArgs are a log plugin's arguments for one file. The date range goes
// to the parser, which then builds no row for a record outside it (it
// keeps the records without a time, as the timeline does).
func (b *builder) logArgs(file string) *ordereddict.Dict {
	d := b.rootArgs().Set("filename", file).Set("tz", b.a.Tz)
	if !b.a.after.IsZero() {
		d.Set("after", b.a.after)
	}
	if !b.a.before.IsZero() {
		d.Set("before", b.a.before)
	}
	return d
}

func (b *builder) logs() error {
	root := vqlkit.OpenRootForFile(b.scope, pluginName, b.a.Accessor, b.a.Root)
	if root == nil {
		return nil
	}
	if err := b.waagentLogs(root); err != nil {
		return err
	}
	for _, f := range walkFiles(root, "/var/log/azure", handlerLogs) {
		if strings.Contains(f, "/events/") {
			continue
		}
		if err := b.each("azure_handler_log", b.logArgs(f), func(d *ordereddict.Dict) error {
			if !set(get(d, "Event")) {
				return nil
			}
			return b.logRow(d, "HandlerLog", f)
		}); err != nil {
			return err
		}
	}
	winLogs := func(files []string, src string) error {
		for _, f := range files {
			p := winPath(f) // the handler is read from the path as the VM names it
			if err := b.each("azure_handler_log", b.logArgs(p), func(d *ordereddict.Dict) error {
				if !set(get(d, "Event")) {
					return nil
				}
				return b.logRow(d, src, p)
			}); err != nil {
				return err
			}
		}
		return nil
	}
	var agent []string
	for _, g := range windowsAgent {
		agent = append(agent, globFiles(root, "/WindowsAzure/Logs/"+g)...)
	}
	if err := winLogs(agent, "AgentLog"); err != nil {
		return err
	}
	return winLogs(walkFiles(root, "/WindowsAzure/Logs/Plugins", []string{"*.log"}), "HandlerLog")
}

// waagentLogs are the Linux agent's log and the syslog files it writes
// to, each by its name; syslog-era lines of syslog files are the
// journal's (Linux.Azure.AgentLogs leaves them out too).
func (b *builder) waagentLogs(root *evidence.Root) error {
	var names []string
	for _, g := range waagentLogs {
		for _, f := range globFiles(root, "/var/log/"+g) {
			names = append(names, path.Base(f))
		}
	}
	sort.Strings(names)
	for _, n := range names {
		f := "/var/log/" + n
		syslog := syslogFileName.MatchString(n)
		if err := b.each("azure_waagent_log", b.logArgs(f), func(d *ordereddict.Dict) error {
			if !set(get(d, "Event")) || (syslog && get(d, "Era") == "syslog") {
				return nil
			}
			return b.logRow(d, "AgentLog", f)
		}); err != nil {
			return err
		}
	}
	return nil
}

// globFiles are the files (not folders) matching pattern, as paths below
// the root.
func globFiles(root *evidence.Root, pattern string) []string {
	entries, err := root.Glob(pattern)
	root.Report(err)
	var out []string
	for _, e := range entries {
		// A link or a FIFO is reported (once), never read.
		if !e.IsDir && root.Readable(e) {
			out = append(out, pattern[:strings.LastIndex(pattern, "/")+1]+e.Name)
		}
	}
	return out
}

// walkFiles are the files below dir (any depth, as glob's **) whose
// name matches one of the patterns, sorted.
func walkFiles(root *evidence.Root, dir string, patterns []string) []string {
	var out []string
	var walk func(d string, depth int)
	walk = func(d string, depth int) {
		if depth > 30 {
			root.Report(fmt.Errorf("%s: not read, deeper than 30 folders below %s", d, dir))
			return
		}
		entries, err := root.ReadDir(d)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				root.Report(err)
			}
			return
		}
		for _, e := range entries {
			p := d + "/" + e.Name
			if e.IsLink {
				root.Readable(e) // reports the link and its target
				continue
			}
			if e.IsDir {
				walk(p, depth+1)
				continue
			}
			for _, pat := range patterns {
				if ok, _ := path.Match(pat, e.Name); ok {
					out = append(out, p)
					break
				}
			}
		}
	}
	walk(dir, 0)
	sort.Strings(out)
	return out
}

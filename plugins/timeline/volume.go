package timeline

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/catalog"
	"github.com/azvql/azvql/plugins/eventlog"
	"github.com/azvql/azvql/plugins/evidence"
	"github.com/azvql/azvql/plugins/mftscan"
	"www.velocidex.com/golang/vfilter/types"
)

// eventLogs are the Windows event-log rows (Windows.Azure.EventLogs'
// AgentEvents, Processes and PowerShell) when the root has the event log
// folder: nothing is said of a Linux root's missing folder.
func (b *builder) eventLogs() error {
	l := eventlog.OpenLogs(b.ctx, b.scope, pluginName, b.a.Accessor, b.a.Root, "")
	if l == nil || !l.DirExists() {
		return nil
	}
	type part struct {
		plugin, source, kind string
		summary              func(d *ordereddict.Dict) string
	}
	for _, p := range []part{
		{"azure_agent_events", "AgentEvents", "Logged", agentEventSummary},
		{"azure_handler_processes", "Processes", "Created", processSummary},
		{"azure_handler_powershell", "PowerShell", "Logged", powershellSummary},
	} {
		err := b.each(p.plugin, b.rootArgs(), func(d *ordereddict.Dict) error {
			r := b.base(d, p.source)
			r.Time, r.TimeKind = timep(get(d, "Time")), sp(p.kind)
			r.Summary = p.summary(d)
			r.OSPath = strp(get(d, "OSPath"))
			return b.emit(r)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// "Microsoft.Compute.CustomScriptExtension 1.10.18 install (Microsoft-WindowsAzure-Status/Plugins event 7)"
func agentEventSummary(d *ordereddict.Dict) string {
	what := str(or(get(d, "Handler"), get(d, "HandlerFolder"), "agent"))
	if v := get(d, "Version"); set(v) {
		what += " " + str(v)
	}
	what += " " + str(or(get(d, "Operation"), oneLine(get(d, "Text"))))
	return fmt.Sprintf("%s (%v event %v)", what, str(get(d, "Channel")), str(get(d, "EventID")))
}

// "powershell.exe started by RunCommandExtension.exe as USER: `cmd` (Security 4688, pid 6700)"
func processSummary(d *ordereddict.Dict) string {
	cmd := "(command line not recorded)"
	if c := get(d, "CommandLine"); set(c) {
		cmd = "`" + oneLine(c) + "`"
	}
	return fmt.Sprintf("%s started by %s as %v: %s (%v %v, pid %v)", winBase(get(d, "Image")),
		winBase(get(d, "ParentImage")), str(or(get(d, "User"), "unknown user")), cmd,
		str(get(d, "Channel")), str(get(d, "EventID")), str(get(d, "Pid")))
}

// "PowerShell 4104 ran C:\...\script0.ps1: `# inventory ...`"; the
// engine's start and stop events (400, 403...) are "event N for" it.
func powershellSummary(d *ordereddict.Dict) string {
	verb := "event %v for %v"
	if id := get(d, "EventID"); str(id) == "4104" {
		verb = "%v ran %v"
	}
	s := "PowerShell " + fmt.Sprintf(verb, str(get(d, "EventID")), str(or(get(d, "ScriptPath"), "a script")))
	if t := get(d, "Text"); set(t) {
		s += ": `" + oneLine(t) + "`"
	}
	return s
}

func winBase(v any) string {
	if !set(v) {
		return "unknown"
	}
	s := str(v)
	return s[strings.LastIndexAny(s, `\/`)+1:]
}

// volumeArgs are the arguments that give azure_mft_entries and
// azure_usn_entries the NTFS volume: image= when given, else the
// accessor when it is one (vql --image). nil when there is none.
func (b *builder) volumeArgs() *ordereddict.Dict {
	if b.a.Image != "" {
		return ordereddict.NewDict().Set("image", b.a.Image)
	}
	acc, err := evidence.Get(b.scope, b.a.Accessor)
	if err != nil {
		return nil
	}
	if _, ok := acc.(mftscan.Volume); !ok {
		return nil
	}
	d := ordereddict.NewDict()
	if b.a.Accessor != "" {
		d.Set("accessor", b.a.Accessor)
	}
	return d
}

// volume are the MFT entries' $STANDARD_INFORMATION created and modified
// times and the USN journal's records of the extension folders, and the
// records of an extracted journal (usn_file).
func (b *builder) volume() error {
	if b.a.USNFile != "" {
		// On the collecting host (as the argument says), not in the
		// evidence: under vql --image, auto would be the image's volume.
		if err := b.usn(ordereddict.NewDict().Set("filename", b.a.USNFile).Set("accessor", "file")); err != nil {
			return err
		}
	}
	args := b.volumeArgs()
	if args == nil {
		return nil
	}
	err := b.each("azure_mft_entries", args.Copy().Set("redact", b.a.redact), func(d *ordereddict.Dict) error {
		state := "in use"
		if !set(get(d, "InUse")) {
			state = "deleted"
		}
		what := "file"
		if set(get(d, "IsDir")) {
			what = "folder"
		}
		for _, t := range []struct{ col, kind, verb string }{
			{"SICreated", "Created", "created"}, {"SIModified", "Modified", "modified"},
		} {
			r := b.volumeRow(d, "MFT", get(d, "OSPath"))
			r.Time, r.TimeKind = timep(get(d, t.col)), sp(t.kind)
			r.Summary = fmt.Sprintf("%s %v %s (MFT entry %v, %s)", what, str(get(d, "OSPath")), t.verb,
				str(get(d, "Record")), state)
			if err := b.emit(r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return b.usn(args)
}

// usn are azure_usn_entries' records: a volume's (paths rebuilt from the
// MFT) or an extracted $J's (names only).
func (b *builder) usn(args *ordereddict.Dict) error {
	return b.each("azure_usn_entries", args, func(d *ordereddict.Dict) error {
		// An extracted journal's record has a name, not a path: OSPath
		// stays NULL and the summary names the file.
		p := or(get(d, "OSPath"), get(d, "Filename"))
		r := b.volumeRow(d, "USN", get(d, "OSPath"))
		reasons := stringsOf(get(d, "Reason"))
		r.Time, r.TimeKind = timep(get(d, "Timestamp")), sp(usnKind(reasons))
		r.Summary = fmt.Sprintf("%v: %s (USN %v)", str(p), strings.Join(reasons, ", "), str(get(d, "Usn")))
		return b.emit(r)
	})
}

// volumeRow is a row about a file of the volume: the handler is the
// folder under C:\Packages\Plugins it lies in, if any.
func (b *builder) volumeRow(d *ordereddict.Dict, src string, osPath any) *Row {
	r := &Row{Source: src, Detail: detail(d), OSPath: strp(osPath)}
	prefix := strings.ToLower(catalog.WindowsPluginsDir) + `\`
	if s := str(osPath); strings.HasPrefix(strings.ToLower(s), prefix) {
		h := s[len(prefix):]
		if i := strings.IndexByte(h, '\\'); i >= 0 {
			h = h[:i]
		}
		if h != "" {
			r.Handler = &h
		}
	}
	return r
}

func usnKind(reasons []string) string {
	has := map[string]bool{}
	for _, r := range reasons {
		has[r] = true
	}
	switch {
	case has["FILE_DELETE"]:
		return "Deleted"
	case has["FILE_CREATE"]:
		return "Created"
	case has["RENAME_NEW_NAME"] || has["RENAME_OLD_NAME"]:
		return "Renamed"
	}
	return "Changed"
}

// stringsOf is a string or list argument or column as strings (an
// OSPath as its String()); NULL and "" are left out.
func stringsOf(v any) []string {
	var out []string
	add := func(e any) {
		switch e.(type) {
		case nil, types.Null, *types.Null:
			return
		}
		if s := fmt.Sprint(e); s != "" {
			out = append(out, s)
		}
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Slice {
		for i := 0; i < rv.Len(); i++ {
			add(rv.Index(i).Interface())
		}
		return out
	}
	add(v)
	return out
}

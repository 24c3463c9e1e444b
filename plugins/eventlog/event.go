// Package eventlog reads the Windows event logs an Azure VM extension's
// runs leave behind: the agent's own channels (azure_agent_events), the
// processes the handlers started and their descendants
// (azure_handler_processes), the PowerShell they ran
// (azure_handler_powershell), those joined into executions
// (azure_eventlog_executions) and what the logs can and cannot tell
// (azure_eventlog_summary). docs/plugins-eventlog.md.
//
// The plugins do not parse EVTX themselves: they call the parse_evtx
// plugin of the host they run in (the vql host's, or Velociraptor's own
// in a custom build), so their input is exactly the rows an analyst's
// parse_evtx query returns, with the host's damage messages and the vql
// host's guard against forged records. A parser of their own would be a
// second copy of the library, unguarded, and rows that could differ.
package eventlog

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/catalog"
	"github.com/azvql/azvql/plugins/vqlkit"
)

// Event is one parse_evtx row, with the fields the plugins read.
type Event struct {
	Time     time.Time
	Channel  string
	EventID  int64
	Level    int64
	RecordID int64
	Computer string
	// Named are EventData/UserData values by name; Strings are the
	// unnamed ones (classic sources: <Data>value</Data>), in order.
	Named   *ordereddict.Dict
	Strings []string
	OSPath  string // the log file on the evidence system
	Raw     *ordereddict.Dict
}

// FromRow reads a parse_evtx row (System, EventData or UserData,
// Message). ok is false for a row that is not an event.
func FromRow(row *ordereddict.Dict, osPath string) (ev Event, ok bool) {
	sys, _ := get(row, "System").(*ordereddict.Dict)
	if sys == nil {
		return ev, false
	}
	ev.Raw, ev.OSPath = row, osPath
	ev.Channel, _ = get(sys, "Channel").(string)
	ev.Computer, _ = get(sys, "Computer").(string)
	ev.EventID, _ = toInt(get(sys, "EventID", "Value"))
	ev.Level, _ = toInt(get(sys, "Level"))
	ev.RecordID, _ = toInt(get(sys, "EventRecordID"))
	if f, ok := toFloat(get(sys, "TimeCreated", "SystemTime")); ok && f > 0 {
		sec, frac := math.Modf(f)
		ev.Time = time.Unix(int64(sec), int64(math.Round(frac*1e6))*1000).UTC()
	}
	data, _ := get(row, "EventData").(*ordereddict.Dict)
	if data == nil {
		if ud, _ := get(row, "UserData").(*ordereddict.Dict); ud != nil && ud.Len() == 1 {
			// UserData holds one provider-named element around the values.
			v, _ := ud.Get(ud.Keys()[0])
			data, _ = v.(*ordereddict.Dict)
		}
	}
	ev.Named = ordereddict.NewDict()
	if data != nil {
		for _, k := range data.Keys() {
			v, _ := data.Get(k)
			if k == "Data" {
				switch t := v.(type) {
				case []interface{}:
					for _, s := range t {
						ev.Strings = append(ev.Strings, str(s))
					}
					continue
				case []string:
					ev.Strings = append(ev.Strings, t...)
					continue
				case string:
					ev.Strings = append(ev.Strings, t)
					continue
				}
				if rv := reflect.ValueOf(v); rv.Kind() == reflect.Slice {
					for i := 0; i < rv.Len(); i++ {
						ev.Strings = append(ev.Strings, str(rv.Index(i).Interface()))
					}
					continue
				}
			}
			ev.Named.Set(k, v)
		}
	}
	return ev, true
}

// Str is a named value as text ("" when absent).
func (e *Event) Str(name string) string {
	v, ok := e.Named.Get(name)
	if !ok || v == nil {
		return ""
	}
	return str(v)
}

// Int is a named value as a number (hex strings such as 0x1a2c too).
func (e *Event) Int(name string) (int64, bool) {
	v, ok := e.Named.Get(name)
	if !ok {
		return 0, false
	}
	return toInt(v)
}

// Texts are every value of the event as text, named ones first.
func (e *Event) Texts() []string {
	var out []string
	for _, k := range e.Named.Keys() {
		v, _ := e.Named.Get(k)
		if s := str(v); s != "" {
			out = append(out, s)
		}
	}
	return append(out, e.Strings...)
}

func get(d *ordereddict.Dict, path ...string) interface{} {
	var cur interface{} = d
	for _, p := range path {
		m, ok := cur.(*ordereddict.Dict)
		if !ok {
			return nil
		}
		cur, _ = m.Get(p)
	}
	return cur
}

func str(v interface{}) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	default:
		return fmt.Sprint(t)
	}
}

func toInt(v interface{}) (int64, bool) {
	if s, ok := v.(string); ok {
		s = strings.TrimSpace(s)
		if strings.HasPrefix(strings.ToLower(s), "0x") {
			n, err := strconv.ParseUint(s[2:], 16, 64)
			return int64(n), err == nil
		}
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil
	}
	return vqlkit.NumberInt64(v)
}

func toFloat(v interface{}) (float64, bool) {
	switch t := v.(type) {
	case float64:
		return t, true
	case float32:
		return float64(t), true
	}
	n, ok := toInt(v)
	return float64(n), ok
}

// pluginsDir is the Windows handler folder root, lower-cased with a
// trailing separator, as it appears in paths and command lines.
var pluginsDir = strings.ToLower(catalog.WindowsPluginsDir[len("C:"):]) + `\`

// HandlerInPath is the catalogued handler whose folder the path or
// command line names (...\Packages\Plugins\<Name>\...), and the
// handler folder's name even when the catalogue lacks it.
func HandlerInPath(s string) (h *catalog.Handler, name string) {
	low := strings.ToLower(strings.ReplaceAll(s, "/", `\`))
	i := strings.Index(low, pluginsDir)
	if i < 0 {
		return nil, ""
	}
	rest := s[i+len(pluginsDir):]
	if j := strings.IndexAny(rest, `\/" '`); j >= 0 {
		rest = rest[:j]
	}
	if rest == "" {
		return nil, ""
	}
	return catalog.Lookup(catalog.Windows, rest), rest
}

// HandlerOfImage is the handler an executable belongs to: its folder
// under Packages\Plugins, or its file name among the catalogue's
// handler processes.
func HandlerOfImage(image string) (h *catalog.Handler, name string) {
	if image == "" {
		return nil, ""
	}
	if h, name = HandlerInPath(image); name != "" {
		return h, name
	}
	if h = catalog.ByProcess(catalog.Windows, baseName(image)); h != nil {
		return h, h.Name
	}
	return nil, ""
}

func baseName(p string) string {
	return p[strings.LastIndexAny(p, `\/`)+1:]
}

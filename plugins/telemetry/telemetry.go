// Package telemetry parses the telemetry event files VM extensions and
// the Linux guest agent leave on disk: azure_extension_events.
//
//   - extension events (the handler's eventsFolder):
//     /var/log/azure/<Handler>/events/*.json and
//     C:\WindowsAzure\Logs\Plugins\<Handler>\Events\*.json, a JSON array
//     of {Version, Timestamp|TimeStamp, TaskName, EventLevel, Message,
//     EventPid, EventTid, OperationId} (or a single object);
//   - the agent's telemetry queue /var/lib/waagent/events/*.tld, one JSON
//     {eventId, providerId, parameters: [{name, value}]} per file.
//
// The agent uploads and deletes both, so what remains is what had not
// been sent yet (docs/formats.md §1.12, §4.2). docs/plugins-telemetry.md.
package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/evidence"
	"github.com/azvql/azvql/plugins/handlerlog"
	"github.com/azvql/azvql/plugins/redact"
	"github.com/azvql/azvql/plugins/vqlkit"
	"www.velocidex.com/golang/vfilter"
	"www.velocidex.com/golang/vfilter/types"
)

const pluginName = "azure_extension_events"

// Format values.
const (
	FormatExtension = "extension-events" // handler eventsFolder *.json
	FormatAgent     = "agent-telemetry"  // /var/lib/waagent/events/*.tld
)

// Columns are the row columns, in order.
var Columns = []string{
	"Time", "Handler", "Version", "TaskName", "Level", "Message", "Pid", "Tid", "OperationId",
	"OSPath", "Index", "Format", "Fields",
}

// Globs are the folders walked when no filename is given.
var Globs = []string{
	"/var/log/azure/*/events/*.json",
	"/var/log/azure/*/*/events/*.json",
	"/var/lib/waagent/events/*.tld",
	`C:\WindowsAzure\Logs\Plugins\*\Events\*.json`,
	`C:\WindowsAzure\Logs\Plugins\*\*\Events\*.json`,
}

// MaxFile is the largest event file read (the agent caps event files far
// lower); a larger file is read up to this size and reported.
const MaxFile = 64 << 20

// Plugins returns the plugins of this package.
func Plugins() []vfilter.PluginGeneratorInterface {
	return []vfilter.PluginGeneratorInterface{EventsPlugin{}}
}

// Args are the arguments of azure_extension_events.
type Args struct {
	Filename string `vfilter:"optional,field=filename,doc=One event file to read, as a path on the evidence system (*.json extension events or *.tld agent events). Default: walk every known events folder under root."`
	Root     string `vfilter:"optional,field=root,doc=The root of the evidence system (/ of a Linux VM or the C: drive of a Windows one). Default: the running system."`
	Accessor string `vfilter:"optional,field=accessor,doc=The accessor that reads the evidence (default auto: the host's files)."`
	Redact   bool   `vfilter:"optional,field=redact,doc=Redact secrets (SAS sig= values and storage keys and passwords) in Message and Fields; default true."`
}

// EventsPlugin is azure_extension_events.
type EventsPlugin struct{}

// Info describes the plugin.
func (EventsPlugin) Info(scope types.Scope, typeMap *types.TypeMap) *types.PluginInfo {
	return &types.PluginInfo{
		Name: pluginName,
		Doc: "Extension telemetry events left on disk: handler events folders (/var/log/azure/<Handler>/events/*.json, " +
			"C:\\WindowsAzure\\Logs\\Plugins\\<Handler>\\Events\\*.json) and the Linux agent's queue (/var/lib/waagent/events/*.tld). " +
			"Columns: " + strings.Join(Columns, ", ") + ".",
		ArgType: typeMap.AddType(scope, &Args{}),
		Version: 1,
	}
}

// Call runs the plugin.
func (EventsPlugin) Call(ctx context.Context, scope types.Scope, args *ordereddict.Dict) <-chan types.Row {
	arg := &Args{}
	return vqlkit.Run(ctx, scope, args, pluginName, arg, func(out chan vfilter.Row) {
		arg.Redact = vqlkit.Redact(args, arg.Redact)
		open := vqlkit.OpenRoot
		if arg.Filename != "" {
			open = vqlkit.OpenRootForFile
		}
		root := open(scope, pluginName, arg.Accessor, arg.Root)
		if root == nil {
			return
		}
		var files []string
		if arg.Filename != "" {
			files = []string{arg.Filename}
		} else {
			for _, g := range Globs {
				list, _ := root.Glob(g)
				for _, e := range list {
					if root.Readable(e) {
						files = append(files, e.OSPath)
					}
				}
			}
		}
		logf := func(s string) { vqlkit.Logf(scope, pluginName, "%s", s) }
		for _, fn := range files {
			if ctx.Err() != nil {
				return
			}
			if !ReadFile(root, fn, arg.Redact, logf, func(r *ordereddict.Dict) bool { return vqlkit.Send(ctx, out, r) }) {
				return
			}
		}
	})
}

// ReadFile emits the events of one file; false means stop.
func ReadFile(root *evidence.Root, name string, red bool, logf func(string), emit func(*ordereddict.Dict) bool) bool {
	osPath := handlerlog.EvidencePath(root, name) // also an accessor path below root (glob's OSPath)
	data, truncated, err := root.ReadCapped(osPath, MaxFile)
	if err != nil {
		logf(err.Error())
		return true
	}
	if truncated {
		logf(fmt.Sprintf("%s: larger than %d bytes: only the first %d read", osPath, MaxFile, MaxFile))
	}
	return Parse(data, osPath, red, logf, emit)
}

// Parse emits the events of a file's content.
func Parse(data []byte, osPath string, red bool, logf func(string), emit func(*ordereddict.Dict) bool) bool {
	data, _ = evidence.DecodeText(data)
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		logf(osPath + ": empty event file")
		return true
	}
	handler, version := handlerFromPath(osPath)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	idx := int64(0)
	one := func(raw json.RawMessage) bool {
		ev, err := decodeObject(raw)
		if err != nil {
			logf(fmt.Sprintf("%s: event %d: %v", osPath, idx, err))
			idx++
			return true
		}
		row := eventRow(ev, osPath, handler, version, idx, red)
		idx++
		return emit(row)
	}
	switch data[0] {
	case '[':
		if _, err := dec.Token(); err != nil {
			logf(fmt.Sprintf("%s: %v", osPath, err))
			return true
		}
		for dec.More() {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				logf(fmt.Sprintf("%s: malformed JSON after %d events: %v", osPath, idx, describe(err)))
				return true
			}
			if !one(raw) {
				return false
			}
		}
		return true
	case '{':
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			logf(fmt.Sprintf("%s: malformed JSON: %v", osPath, describe(err)))
			return true
		}
		return one(raw)
	}
	logf(osPath + ": not a JSON event file")
	return true
}

func describe(err error) string {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return "the file ends early (truncated)"
	}
	return err.Error()
}

func decodeObject(raw json.RawMessage) (*ordereddict.Dict, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, errors.New("not a JSON object")
	}
	d := ordereddict.NewDict()
	if err := d.UnmarshalJSON(raw); err != nil {
		return nil, err
	}
	return d, nil
}

// get returns the first present key of ks (case-insensitive).
func get(d *ordereddict.Dict, ks ...string) (any, bool) {
	for _, k := range ks {
		if v, ok := d.Get(k); ok {
			return v, true
		}
	}
	for _, k := range ks {
		for _, dk := range d.Keys() {
			if strings.EqualFold(dk, k) {
				v, _ := d.Get(dk)
				return v, true
			}
		}
	}
	return nil, false
}

func asString(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case time.Time:
		return t.UTC().Format(time.RFC3339Nano)
	case json.Number:
		return t.String()
	case nil:
		return ""
	case bool:
		return strconv.FormatBool(t)
	case int64:
		return strconv.FormatInt(t, 10)
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func asInt(v any) any {
	s := asString(v)
	if s == "" {
		return nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return nil
	}
	return n
}

func parseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999", "01/02/2006 15:04:05"} {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// eventRow maps one event object (either shape) onto the columns.
// It is long because it maps both event shapes (agent and extension) onto
// one column list, each column's fallback next to its siblings'.
func eventRow(ev *ordereddict.Dict, osPath, handler, version string, idx int64, red bool) *ordereddict.Dict {
	format := FormatExtension
	fields := ev
	if params, ok := ev.Get("parameters"); ok {
		format = FormatAgent
		fields = ordereddict.NewDict()
		if id, ok := ev.Get("eventId"); ok {
			fields.Set("eventId", id)
		}
		if id, ok := ev.Get("providerId"); ok {
			fields.Set("providerId", id)
		}
		if list, ok := params.([]any); ok {
			for _, p := range list {
				pd, ok := p.(*ordereddict.Dict)
				if !ok {
					continue
				}
				n, _ := pd.GetString("name")
				if n == "" {
					continue
				}
				v, _ := pd.Get("value")
				fields.Set(n, v)
			}
		}
	}
	g := func(ks ...string) string {
		v, _ := get(fields, ks...)
		return asString(v)
	}
	var t time.Time
	var h, ver, task, level, msg, opid string
	var pid, tid any
	if format == FormatAgent {
		h = g("Name")
		ver = g("Version")
		task = g("TaskName")
		if task == "" || task == "ExtHandler" {
			if op := g("Operation"); op != "" {
				task = op
			}
		}
		msg = g("Message")
		if s := g("OperationSuccess"); s != "" {
			if s == "false" || s == "False" {
				level = "ERROR"
			} else {
				level = "INFO"
			}
		}
		if l := g("EventLevel", "Level"); l != "" {
			level = l
		}
		t = parseTime(g("OpcodeName", "Timestamp", "TimeStamp", "EventTime"))
		if t.IsZero() {
			t = timeFromName(osPath)
		}
		pid, tid = asInt(g("EventPid")), asInt(g("EventTid"))
		opid = g("OperationId", "ActivityId")
	} else {
		h, ver = handler, version
		if v := g("Version"); v != "" && ver == "" {
			ver = v
		}
		task = g("TaskName")
		level = g("EventLevel", "Level")
		msg = g("Message")
		t = parseTime(g("Timestamp", "TimeStamp"))
		pid, tid = asInt(g("EventPid")), asInt(g("EventTid"))
		opid = g("OperationId")
	}
	if red {
		msg = redact.CommandLine(msg)
		if d, ok := redact.Value(fields).(*ordereddict.Dict); ok {
			fields = d
		}
	}
	return ordereddict.NewDict().
		Set("Time", vqlkit.Time(t)).
		Set("Handler", vqlkit.Str(h)).
		Set("Version", vqlkit.Str(ver)).
		Set("TaskName", vqlkit.Str(task)).
		Set("Level", vqlkit.Str(level)).
		Set("Message", vqlkit.Str(msg)).
		Set("Pid", pid).
		Set("Tid", tid).
		Set("OperationId", vqlkit.Str(opid)).
		Set("OSPath", osPath).
		Set("Index", idx).
		Set("Format", format).
		Set("Fields", fields)
}

// timeFromName: the agent names queued events <unix micros>.tld
// (time.time() * 1000000); extension events are <unix seconds|millis|micros>.json.
func timeFromName(osPath string) time.Time {
	base := evidence.ParseEvPath(osPath).Base()
	if i := strings.IndexByte(base, '.'); i > 0 {
		base = base[:i]
	}
	n, err := strconv.ParseInt(base, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}
	}
	switch {
	case n > 1e17:
		return time.Unix(0, n).UTC()
	case n > 1e14:
		return time.UnixMicro(n).UTC()
	case n > 1e11:
		return time.UnixMilli(n).UTC()
	default:
		return time.Unix(n, 0).UTC()
	}
}

// handlerFromPath: /var/log/azure/<Handler>[/<ver>]/events/x.json,
// C:\WindowsAzure\Logs\Plugins\<Handler>[\<ver>]\Events\x.json.
func handlerFromPath(osPath string) (string, string) {
	ev := evidence.ParseEvPath(osPath)
	p := ev.Parts
	for i, c := range p {
		if (ev.Windows && strings.EqualFold(c, "Plugins") && i > 0 && strings.EqualFold(p[i-1], "Logs")) ||
			(!ev.Windows && c == "azure" && i > 0 && p[i-1] == "log") {
			if i+1 >= len(p)-1 {
				return "", ""
			}
			h := p[i+1]
			ver := ""
			if i+3 < len(p) && !strings.EqualFold(p[i+2], "events") {
				ver = p[i+2]
			}
			return h, ver
		}
	}
	return "", ""
}

// Columns are the plugin's row columns (vqlkit.Declared).
func (EventsPlugin) Columns() []string { return Columns }

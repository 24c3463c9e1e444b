package goalstate

import (
	"strings"

	"github.com/Velocidex/ordereddict"

	"github.com/azvql/azvql/plugins/scripttext"
	"github.com/azvql/azvql/plugins/vqlkit"
)

// getFold looks a key up case-insensitively (the Go handlers unmarshal
// settings with encoding/json, which matches keys that way).
func getFold(d *ordereddict.Dict, key string) (interface{}, bool) { return vqlkit.GetFold(d, key) }

func strOf(v interface{}) string {
	s, _ := v.(string)
	return s
}

// CommandOf returns the command a setting asks the handler to run, from
// its public settings: commandToExecute (CSE, RC v1), script (RC v1 and
// CSE Linux: base64, optionally gzip, decoded with scripttext.Decode;
// Windows RC v1: a list of lines, joined with newlines), source.script
// (Run Command v2). "" when none. note reports a script whose decoding
// was incomplete (gzip ending early, capped).
func CommandOf(pub interface{}) (cmd, note string) {
	d, _ := pub.(*ordereddict.Dict)
	if d == nil {
		return "", ""
	}
	if v, ok := getFold(d, "commandToExecute"); ok {
		if s := strOf(v); s != "" {
			return s, ""
		}
	}
	if v, ok := getFold(d, "script"); ok {
		switch t := v.(type) {
		case string:
			if t != "" {
				return scripttext.Decode(t)
			}
		case []interface{}:
			lines := make([]string, 0, len(t))
			for _, l := range t {
				if s, ok := l.(string); ok {
					lines = append(lines, s)
				}
			}
			if len(lines) > 0 {
				return strings.Join(lines, "\n"), ""
			}
		}
	}
	if v, ok := getFold(d, "source"); ok {
		if src, ok := v.(*ordereddict.Dict); ok {
			if sv, ok := getFold(src, "script"); ok {
				if s := strOf(sv); s != "" {
					return s, ""
				}
			}
		}
	}
	return "", ""
}

// FileUrisOf returns the URIs a setting downloads: fileUris (CSE, RC v1),
// source.scriptUri and artifacts[].uri (Run Command v2). nil when none.
func FileUrisOf(pub interface{}) []string {
	d, _ := pub.(*ordereddict.Dict)
	if d == nil {
		return nil
	}
	var out []string
	add := func(v interface{}) {
		switch t := v.(type) {
		case string:
			if t != "" {
				out = append(out, t)
			}
		case []interface{}:
			for _, e := range t {
				if s, ok := e.(string); ok && s != "" {
					out = append(out, s)
				}
			}
		}
	}
	if v, ok := getFold(d, "fileUris"); ok {
		add(v)
	}
	if v, ok := getFold(d, "source"); ok {
		if src, ok := v.(*ordereddict.Dict); ok {
			if sv, ok := getFold(src, "scriptUri"); ok {
				add(sv)
			}
		}
	}
	if v, ok := getFold(d, "artifacts"); ok {
		if list, ok := v.([]interface{}); ok {
			for _, a := range list {
				if ad, ok := a.(*ordereddict.Dict); ok {
					if u, ok := getFold(ad, "uri"); ok {
						add(u)
					}
				}
			}
		}
	}
	return out
}

package redact

import (
	"strings"

	"github.com/Velocidex/ordereddict"
)

// Settings redacts extension settings (public, or decrypted protected):
// Value's secrets by key name, then CommandLine on the fields that hold a
// command: commandToExecute, script (text or a Windows array of lines),
// source.script (managed Run Command). Containers are copied.
func Settings(v interface{}) interface{} {
	return CommandKeys(Value(v))
}

// CommandKeys applies CommandLine to the command fields of settings that
// are already redacted by key. Containers are copied.
func CommandKeys(v interface{}) interface{} {
	d, ok := v.(*ordereddict.Dict)
	if !ok || d == nil {
		return v
	}
	out := ordereddict.NewDict()
	for _, k := range d.Keys() {
		e, _ := d.Get(k)
		switch lk := strings.ToLower(k); {
		case lk == "commandtoexecute" || lk == "script":
			switch t := e.(type) {
			case string:
				e = CommandLine(t)
			case []interface{}:
				l := make([]interface{}, len(t))
				for i, x := range t {
					if xs, ok := x.(string); ok {
						l[i] = CommandLine(xs)
					} else {
						l[i] = x
					}
				}
				e = l
			}
		case lk == "source":
			e = CommandKeys(e)
		}
		out.Set(k, e)
	}
	return out
}

package handlerlog

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/Velocidex/ordereddict"
)

// maxFields bounds the pairs kept from one logfmt line (hostile input).
const maxFields = 256

// parseLogfmt splits a go-kit logfmt line into key/value pairs, in order.
// Values are bare (up to the next space) or Go-quoted strings ("...",
// with \" escapes). A token without '=' is kept as a key with an empty
// value. ok is false when the line is not logfmt (it must start with
// "time=").
func parseLogfmt(line string) (keys, vals []string, ok bool) {
	if !strings.HasPrefix(line, "time=") {
		return nil, nil, false
	}
	i := 0
	n := len(line)
	for i < n && len(keys) < maxFields {
		for i < n && line[i] == ' ' {
			i++
		}
		if i >= n {
			break
		}
		ks := i
		for i < n && line[i] != '=' && line[i] != ' ' {
			i++
		}
		key := line[ks:i]
		if i >= n || line[i] == ' ' {
			keys = append(keys, key)
			vals = append(vals, "")
			continue
		}
		i++ // '='
		var val string
		if i < n && line[i] == '"' {
			j := i + 1
			esc := false
			for j < n {
				c := line[j]
				if c == '\\' {
					esc = true
					j += 2
					continue
				}
				if c == '"' {
					break
				}
				j++
			}
			if j >= n {
				// Unterminated quote: keep the rest as written.
				val = line[i+1:]
				i = n
			} else {
				raw := line[i : j+1]
				val = raw[1 : len(raw)-1]
				if esc {
					if u, err := strconv.Unquote(raw); err == nil {
						val = u
					}
				}
				i = j + 1
			}
		} else {
			vs := i
			for i < n && line[i] != ' ' {
				i++
			}
			val = line[vs:i]
		}
		keys = append(keys, key)
		vals = append(vals, val)
	}
	return keys, vals, true
}

// logfmtRecord fills a record from a logfmt line.
func (p *Assembler) logfmtRecord(r *Record, keys, vals []string) {
	f := ordereddict.NewDict()
	for i, k := range keys {
		v := vals[i]
		f.Set(k, p.redactStr(v))
		switch k {
		case "time":
			if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
				r.Time = t.UTC()
			}
		case "version":
			r.Version = goVersion(v)
		case "operation":
			r.Operation = v
		case "seq", "seqNum":
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && r.SeqNo < 0 {
				r.SeqNo = n
			}
		case "extensionName":
			r.ExtensionName = v
		case "event":
			r.Event = v
		case "message", "messsage", "msg":
			if r.Message == "" {
				r.Message = v
			}
		case "error":
			r.Error = v
		case "level", "lvl":
			r.Level = strings.ToUpper(v)
		}
	}
	r.Fields = f
	if r.Error != "" {
		if n, ok := exitStatus(r.Error); ok {
			r.ExitCode, r.HasExitCode = n, true
		}
	}
	// event="executed command" without an error means the command exited
	// 0, but the line does not write it: the record's ExitCode stays NULL;
	// azure_log_executions infers 0 and says so (ExitCodeSource).
}

// goVersion turns "v1.0.5/git@5b1e3a7-clean" into "1.0.5".
func goVersion(v string) string {
	if i := strings.IndexByte(v, '/'); i >= 0 {
		v = v[:i]
	}
	v = strings.TrimPrefix(v, "v")
	if !utf8.ValidString(v) {
		return ""
	}
	return v
}

// exitStatus finds the exit code in "... exit status=1", "exit status 1",
// "exit code: 1", "exited with code: 1", "Exit code: 1", "Non-zero exit
// code: 1", "exit code 1".
func exitStatus(s string) (int64, bool) {
	ls := strings.ToLower(s)
	for _, key := range []string{"exit status", "exit code", "exited with code"} {
		i := strings.LastIndex(ls, key)
		if i < 0 {
			continue
		}
		j := i + len(key)
		for j < len(s) && (s[j] == ' ' || s[j] == '=' || s[j] == ':') {
			j++
		}
		k := j
		if k < len(s) && s[k] == '-' {
			k++
		}
		e := k
		for e < len(s) && s[e] >= '0' && s[e] <= '9' && e-k < 12 {
			e++
		}
		if e > k {
			if n, err := strconv.ParseInt(s[j:e], 10, 64); err == nil {
				return n, true
			}
		}
	}
	return 0, false
}

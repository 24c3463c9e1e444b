package extensions

import (
	"bytes"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/evidence"
	"github.com/azvql/azvql/plugins/vqlkit"
)

// Who wrote a status file (docs/formats.md §1.5).
const (
	WriterShim      = "shim"      // the handler's shell shim, before forking the binary: a placeholder
	WriterAgent     = "agent"     // the guest agent, when the extension wrote nothing: a placeholder
	WriterExtension = "extension" // the extension itself
)

// Status is what a .status file says.
type Status struct {
	Dups     []Dup // keys written twice (the last value is kept)
	Empty    bool
	Encoding string
	Items    int // elements of the top-level array (1 for an object)

	Version      any
	TimestampRaw string
	Timestamp    time.Time // UTC; zero when absent or unparsable

	Name, Operation, State   string // status.name, .operation, .status
	Code                     any    // int64 when numeric (also "0"), else the string
	Lang, Message            string
	HasMessage               bool
	ConfigurationAppliedTime time.Time

	StdOut, StdErr *string // split out of the message or the StdOut/StdErr substatus; nil = not stated
	ExitCode       *int64  // CSE "exit status=N", RC v2 exitCode

	// RC v2 instance view (the message is JSON).
	ExecutionState   string
	ExecutionMessage string
	StartTime        time.Time
	EndTime          time.Time

	Substatus []*ordereddict.Dict // {Name, Status, Code, Message}

	Writer      string // WriterShim, WriterAgent or WriterExtension
	Placeholder bool   // written before the run by the shim or the agent
}

// InProgress says the status does not report an end.
func (s *Status) InProgress() bool {
	return strings.EqualFold(s.State, "transitioning") ||
		strings.EqualFold(s.ExecutionState, "Running") || strings.EqualFold(s.ExecutionState, "Pending")
}

// exitStatusRe finds an exit code in a status message: Linux "exit
// status=N", Windows "Command exited with code: N" (RunCommandWindows) and
// "returned a non-zero exit code of: 'N'" (CustomScriptExtension).
var exitStatusRe = regexp.MustCompile(`(?i)exit(?:ed with)? (?:status|code)(?: of)?\s*[=:]?\s*'?(-?[0-9]{1,10})\b`)

// ParseStatus parses the bytes of a .status file: a JSON array whose
// first element is read (as the agent does), or a bare object; BOM and
// UTF-16 are accepted. It returns what it could read with an error for
// malformed input.
func ParseStatus(data []byte) (*Status, error) {
	text, enc := evidence.DecodeText(data)
	s := &Status{Encoding: enc}
	trimmed := bytes.TrimSpace(text)
	if len(trimmed) == 0 {
		s.Empty = true
		return s, nil
	}
	v, dups, err := decodeJSONDups(text)
	s.Dups = dups
	if err != nil {
		return s, err
	}
	var item *ordereddict.Dict
	switch t := v.(type) {
	case []any:
		s.Items = len(t)
		if len(t) == 0 {
			return s, errors.New("status array is empty")
		}
		item, _ = t[0].(*ordereddict.Dict)
		if item == nil {
			return s, errors.New("status[0] is not an object")
		}
	case *ordereddict.Dict:
		s.Items = 1
		item = t
	default:
		return s, errors.New("top level is neither an array nor an object")
	}
	s.fromItem(item)
	s.classify(trimmed)
	return s, nil
}

// fromItem reads one status element ({version, timestampUTC, status:
// {...}}): a .status file's first element, or an aggregate status's
// settingsStatus.
func (s *Status) fromItem(item *ordereddict.Dict) {
	s.Version, _ = get(item, "version")
	if ts, ok := getStr(item, "timestampUTC"); ok {
		s.TimestampRaw = ts
		s.Timestamp = ParseTime(ts)
	}
	st := getDict(item, "status")
	if st == nil {
		// Some writers put the fields at the top level.
		st = item
	}
	s.Name, _ = getStr(st, "name")
	s.Operation, _ = getStr(st, "operation")
	s.State, _ = getStr(st, "status")
	if c, ok := get(st, "code"); ok {
		s.Code = normCode(c)
	}
	if t, ok := getStr(st, "configurationAppliedTime"); ok {
		s.ConfigurationAppliedTime = ParseTime(t)
	}
	if fm := getDict(st, "formattedMessage"); fm != nil {
		s.Lang, _ = getStr(fm, "lang")
		s.Message, s.HasMessage = getStr(fm, "message")
	} else if m, ok := getStr(st, "message"); ok {
		s.Message, s.HasMessage = m, true
	}
	if subs, ok := get(st, "substatus"); ok {
		list, _ := subs.([]any)
		for _, e := range list {
			d := asDict(e)
			if d == nil {
				continue
			}
			out := ordereddict.NewDict()
			name, _ := getStr(d, "name")
			state, _ := getStr(d, "status")
			var msg any
			if fm := getDict(d, "formattedMessage"); fm != nil {
				if m, ok := getStr(fm, "message"); ok {
					msg = m
				}
			}
			var code any
			if c, ok := get(d, "code"); ok {
				code = normCode(c)
			}
			out.Set("Name", vqlkit.Str(name)).Set("Status", vqlkit.Str(state)).
				Set("Code", code).Set("Message", msg)
			s.Substatus = append(s.Substatus, out)
			if m, ok := msg.(string); ok {
				switch strings.ToLower(name) {
				case "stdout":
					s.StdOut = &m
				case "stderr":
					s.StdErr = &m
				}
			}
		}
	}
	s.splitMessage()
}

func normCode(c any) any {
	if i, ok := asInt(c); ok {
		return i
	}
	return c
}

// splitMessage pulls stdout/stderr and the exit code out of the message.
func (s *Status) splitMessage() {
	m := s.Message
	if m == "" {
		return
	}
	head := m
	tm := strings.TrimSpace(m)
	switch {
	case strings.HasPrefix(tm, "{") && strings.HasSuffix(tm, "}"):
		// RC v2: the message is an instance view.
		if v, err := decodeJSON([]byte(tm)); err == nil {
			if iv, ok := v.(*ordereddict.Dict); ok {
				s.instanceView(iv)
			}
		}
		return
	case strings.Contains(m, "[stdout]"):
		i := strings.Index(m, "[stdout]")
		head = m[:i]
		rest := m[i+len("[stdout]"):]
		rest = strings.TrimPrefix(rest, "\n")
		out, errs := rest, ""
		hasErr := false
		if j := strings.LastIndex(rest, "[stderr]"); j >= 0 {
			out, errs, hasErr = rest[:j], strings.TrimPrefix(rest[j+len("[stderr]"):], "\n"), true
			out = strings.TrimSuffix(out, "\n")
		}
		if s.StdOut == nil {
			s.StdOut = &out
		}
		if hasErr && s.StdErr == nil {
			s.StdErr = &errs
		}
	case strings.Contains(m, "---stdout---"):
		// OSTC CustomScriptForLinux: "... ---stdout--- <out> ---errout--- <err>"
		i := strings.Index(m, "---stdout---")
		head = m[:i]
		rest := m[i+len("---stdout---"):]
		out, errs := rest, ""
		hasErr := false
		if j := strings.LastIndex(rest, "---errout---"); j >= 0 {
			out, errs, hasErr = rest[:j], rest[j+len("---errout---"):], true
		}
		out = strings.TrimSpace(out)
		errs = strings.TrimSpace(errs)
		if s.StdOut == nil {
			s.StdOut = &out
		}
		if hasErr && s.StdErr == nil {
			s.StdErr = &errs
		}
	}
	if mm := exitStatusRe.FindStringSubmatch(head); mm != nil {
		if n, err := strconv.ParseInt(mm[1], 10, 64); err == nil {
			s.ExitCode = &n
		}
	}
}

func (s *Status) instanceView(iv *ordereddict.Dict) {
	s.ExecutionState, _ = getStr(iv, "executionState")
	s.ExecutionMessage, _ = getStr(iv, "executionMessage")
	if o, ok := getStr(iv, "output"); ok && s.StdOut == nil {
		s.StdOut = &o
	}
	if e, ok := getStr(iv, "error"); ok && s.StdErr == nil {
		s.StdErr = &e
	}
	if c, ok := get(iv, "exitCode"); ok {
		if n, ok := asInt(c); ok {
			s.ExitCode = &n
		}
	}
	if t, ok := getStr(iv, "startTime"); ok {
		s.StartTime = ParseTime(t)
	}
	if t, ok := getStr(iv, "endTime"); ok {
		s.EndTime = ParseTime(t)
	}
	if s.ExitCode == nil {
		if mm := exitStatusRe.FindStringSubmatch(s.ExecutionMessage); mm != nil {
			if n, err := strconv.ParseInt(mm[1], 10, 64); err == nil {
				s.ExitCode = &n
			}
		}
	}
}

// classify decides who wrote the file (docs/formats.md §1.5):
//   - shim placeholder: "transitioning", and the timestamp has the
//     "+00:00" suffix of `date --iso-8601`, or the message is RC v2's "{}",
//     or the document spans lines none of which is indented (the shim's
//     heredoc strips all tabs; Go's MarshalIndent indents);
//   - agent placeholder: "transitioning" on one line in Python's
//     json.dumps style (", " and ": " separators) with numeric version and
//     code (OSTC python extensions write them as strings);
//   - otherwise the extension itself.
func (s *Status) classify(doc []byte) {
	s.Writer = WriterExtension
	if !strings.EqualFold(s.State, "transitioning") {
		return
	}
	switch {
	case strings.HasSuffix(s.TimestampRaw, "+00:00"), strings.TrimSpace(s.Message) == "{}":
		s.Writer = WriterShim
	case bytes.Count(doc, []byte("\n")) >= 3 && !hasIndentedLine(doc):
		s.Writer = WriterShim
	case !bytes.Contains(doc, []byte("\n")) && bytes.Contains(doc, []byte(`": `)) && isNumber(s.Version) && isNumber(s.Code):
		s.Writer = WriterAgent
	}
	s.Placeholder = s.Writer != WriterExtension
}

func hasIndentedLine(doc []byte) bool {
	for _, l := range bytes.Split(doc, []byte("\n")) {
		if len(l) > 0 && (l[0] == ' ' || l[0] == '\t') {
			return true
		}
	}
	return false
}

func isNumber(v any) bool {
	switch v.(type) {
	case int64, float64:
		return true
	}
	return false
}

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999Z0700",
}

// ParseTime reads the ISO 8601 forms the agent and handlers write ("Z",
// "+00:00", 7-digit Windows fractions, no zone = UTC) and returns UTC; the
// zero time when it cannot.
func ParseTime(v string) time.Time {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, v); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

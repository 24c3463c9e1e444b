package agentlog

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/Velocidex/ordereddict"
)

// Event vocabulary: a record's Event is the first rule whose message
// prefix matches the message (after any [CGI]/[CGW]/[PERIODIC]/[HEARTBEAT]
// tag). The texts are the agent's own (WALinuxAgent ga/exthandlers.py and
// older releases; docs/formats.md §1.11). docs/plugins-agentlog.md lists them.
const (
	EvExecuting        = "Executing"
	EvCommand          = "Command"
	EvEnable           = "EnableExtension"
	EvInstall          = "Install"
	EvUninstall        = "Uninstall"
	EvDisable          = "Disable"
	EvUpdate           = "Update"
	EvUpdateSettings   = "UpdateSettings"
	EvDownload         = "DownloadExtension"
	EvInitialize       = "InitializeExtension"
	EvRemoveHandlerDir = "RemoveHandlerDir"
	EvRemoveState      = "RemoveStateFiles"
	EvHandlerState     = "HandlerState"
	EvGoalState        = "GoalState"
	EvStartedScope     = "StartedScope"
	EvPlaceholder      = "PlaceholderStatus"
	EvOperationResult  = "OperationResult"
	EvAgentVersion     = "AgentVersion"
)

type eventRule struct {
	prefix string
	event  *istr
}

// EventRules is the vocabulary in match order (exported for the docs test).
var EventRules = []struct{ Prefix, Event string }{
	{"Executing command:", EvExecuting},
	{"Launch command:", EvExecuting}, // agents < 2.2.4x
	{"Command: ", EvCommand},
	{"Enable extension", EvEnable}, // "Enable extension: [cmd]", older "Enable extension [cmd]"
	{"Install extension", EvInstall},
	{"Uninstall extension", EvUninstall},
	{"Disable extension", EvDisable},
	{"Update extension", EvUpdate},
	{"Update settings file:", EvUpdateSettings},
	{"Download extension package", EvDownload},
	{"Downloading extension package", EvDownload},
	{"Using existing extension package", EvDownload},
	{"Unzipping extension package", EvDownload},
	{"Unpack extension package", EvDownload},
	{"Initializing extension", EvInitialize},
	{"Initialize extension directory", EvInitialize},
	{"Remove extension handler directory:", EvRemoveHandlerDir},
	{"Removing states files for disabled extension:", EvRemoveState},
	{"Target handler state:", EvHandlerState},
	{"Expected handler state:", EvHandlerState},
	{"Requested extension state:", EvHandlerState},
	{"Current handler state is:", EvHandlerState},
	{"[Enable] current handler state is:", EvHandlerState},
	{"[Disable] current handler state is:", EvHandlerState},
	{"[Uninstall] current handler state is:", EvHandlerState},
	{"ProcessExtensionsGoalState", EvGoalState},
	{"ProcessGoalState", EvGoalState},
	{"Fetched new vmSettings", EvGoalState},
	{"Fetched a new incarnation for the WireServer goal state", EvGoalState},
	{"Handle extensions updates for incarnation", EvGoalState},
	{"Started extension in unit", EvStartedScope},
	{"Started extension using scope", EvStartedScope},
	{"Creating a placeholder status file", EvPlaceholder},
	{"Event: name=", EvOperationResult}, // agents < 2.2.4x: "Event: name=X, op=Enable, message=Launch command succeeded: ..."
	{"Azure Linux Agent Version", EvAgentVersion},
	{"Azure Linux Agent (Goal State Agent version", EvAgentVersion},
}

// rulesByByte indexes the rules by the first byte of their prefix.
var rulesByByte [256][]eventRule

func init() {
	boxed := map[string]*istr{}
	for _, r := range EventRules {
		e := boxed[r.Event]
		if e == nil {
			e = newIstr(r.Event)
			boxed[r.Event] = e
		}
		c := r.Prefix[0]
		rulesByByte[c] = append(rulesByByte[c], eventRule{r.Prefix, e})
	}
}

// stripTags skips leading [CGI] / [CGW] / [PERIODIC] / [HEARTBEAT] tags.
func stripTags(m []byte) []byte {
	for len(m) > 0 && m[0] == '[' {
		switch {
		case bytes.HasPrefix(m, []byte("[CGI] ")), bytes.HasPrefix(m, []byte("[CGW] ")):
			m = m[6:]
		case bytes.HasPrefix(m, []byte("[PERIODIC] ")):
			m = m[11:]
		case bytes.HasPrefix(m, []byte("[HEARTBEAT] ")):
			m = m[12:]
		default:
			return m
		}
	}
	return m
}

// classify returns the Event of a message.
func classify(m []byte) *istr {
	m = stripTags(m)
	if len(m) == 0 {
		return nil
	}
	for _, r := range rulesByByte[m[0]] {
		if len(m) >= len(r.prefix) && string(m[:len(r.prefix)]) == r.prefix {
			return r.event
		}
	}
	return nil
}

var (
	envMarker = []byte(" with environment variables: ")
	settings  = []byte(".settings")
)

// parseEnv reads the JSON dict of an "Executing command: ... with
// environment variables: {...}" message.
func parseEnv(m []byte) *ordereddict.Dict {
	i := bytes.Index(m, envMarker)
	if i < 0 {
		return nil
	}
	j := bytes.IndexByte(m[i:], '{')
	if j < 0 {
		return nil
	}
	js := m[i+j:]
	if nl := bytes.IndexByte(js, '\n'); nl >= 0 {
		js = js[:nl]
	}
	js = bytes.TrimRight(js, " \r\t")
	if d := parseFlatJSON(js); d != nil {
		return d
	}
	d := ordereddict.NewDict()
	if err := d.UnmarshalJSON(js); err != nil {
		return nil
	}
	return d
}

// parseFlatJSON parses a JSON object whose values are all strings (the
// agent's environment dict) without a general decoder; nil for anything
// else (the caller falls back to one).
func parseFlatJSON(b []byte) *ordereddict.Dict {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil
	}
	d := ordereddict.NewDict()
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		if skipWS(b, i+1) != len(b) {
			return nil
		}
		return d
	}
	for {
		k, j, ok := jsonString(b, i)
		if !ok {
			return nil
		}
		i = skipWS(b, j)
		if i >= len(b) || b[i] != ':' {
			return nil
		}
		v, j, ok := jsonString(b, skipWS(b, i+1))
		if !ok {
			return nil
		}
		d.Set(k, v)
		i = skipWS(b, j)
		if i >= len(b) {
			return nil
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			if skipWS(b, i+1) != len(b) {
				return nil
			}
			return d
		default:
			return nil
		}
	}
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// jsonString reads a JSON string at b[i:].
func jsonString(b []byte, i int) (string, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return "", i, false
	}
	esc := false
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			esc = true
			j++
		case '"':
			if !esc {
				return string(b[i+1 : j]), j + 1, true
			}
			var s string
			if err := json.Unmarshal(b[i:j+1], &s); err != nil {
				return "", j, false
			}
			return s, j + 1, true
		default:
			if b[j] < 0x20 {
				return "", j, false
			}
			if b[j] >= 0x80 {
				esc = true // let the decoder deal with UTF-8 (invalid bytes become U+FFFD)
			}
		}
	}
	return "", len(b), false
}

// seqNo finds a configuration sequence number in a message:
// "ConfigSequenceNumber" of the env dict, "<N>.settings" (also
// "<extName>.<N>.settings"), "seqNo <N>" / "sequence number <N>".
func seqNo(m []byte, env *ordereddict.Dict) (int64, bool) {
	if env != nil {
		if v, ok := env.Get("ConfigSequenceNumber"); ok {
			switch t := v.(type) {
			case string:
				if n, err := strconv.ParseInt(t, 10, 64); err == nil {
					return n, true
				}
			case int64:
				return t, true
			case float64:
				return int64(t), true
			}
		}
	}
	if i := bytes.Index(m, settings); i > 0 {
		j := i
		for j > 0 && isDigit(m[j-1]) && i-j < 18 {
			j--
		}
		if j < i && (j == 0 || m[j-1] == '/' || m[j-1] == ' ' || m[j-1] == '.' || m[j-1] == '\\' || m[j-1] == ':') {
			if n, err := strconv.ParseInt(string(m[j:i]), 10, 64); err == nil {
				return n, true
			}
		}
	}
	for _, key := range [][]byte{[]byte("seqNo"), []byte("sequence number")} {
		i := bytes.Index(m, key)
		if i < 0 {
			continue
		}
		k := i + len(key)
		// separators: " ", ": ", "=", " is ", " to "
		for n := 0; k < len(m) && n < 5 && !isDigit(m[k]); n++ {
			c := m[k]
			if c != ' ' && c != ':' && c != '=' && c != 'i' && c != 's' && c != 't' && c != 'o' && c != '"' {
				break
			}
			k++
		}
		e := k
		for e < len(m) && isDigit(m[e]) && e-k < 18 {
			e++
		}
		if e > k {
			if n, err := strconv.ParseInt(string(m[k:e]), 10, 64); err == nil {
				return n, true
			}
		}
	}
	return 0, false
}

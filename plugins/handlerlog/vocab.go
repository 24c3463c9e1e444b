package handlerlog

import (
	"regexp"
	"strings"
)

// Event vocabulary for the dialects that log free text (windows-plugin,
// waappagent, ostc). logfmt records keep the handler's own event= value;
// where the meaning is the same the names below are the Go handlers'
// event names, so one query finds both ("executing command", "executed
// command", ...). docs/plugins-handlerlog.md lists them.
const (
	EvStart            = "start"
	EvHandlerEnv       = "handler environment"
	EvInstall          = "install"
	EvInstalled        = "installed"
	EvEnable           = "enable"
	EvEnabled          = "enabled"
	EvDisable          = "disable"
	EvDisabled         = "disabled"
	EvUninstall        = "uninstall"
	EvUninstalled      = "uninstalled"
	EvUpdate           = "update"
	EvHandlerCommand   = "handler command"
	EvReadingConfig    = "reading configuration"
	EvEnvironment      = "environment"
	EvSettings         = "settings"
	EvDownloadStart    = "download start"
	EvExecuting        = "executing command"
	EvExecuted         = "executed command"
	EvAlreadyProcessed = "already processed"
	EvStatus           = "status"
	EvPluginFailed     = "plugin failed"
	EvPlugin           = "plugin"
)

// TextRule maps a message prefix (or, with Contains, a substring) to an
// Event and, optionally, an Operation.
type TextRule struct {
	Match     string
	Contains  bool
	Event     string
	Operation string
}

// TextRules is the vocabulary in match order (exported for the docs).
var TextRules = []TextRule{
	{Match: "Starting ", Event: EvStart},
	{Match: "HandlerEnvironment =", Event: EvHandlerEnv},
	{Match: "Installing Handler", Event: EvInstall, Operation: "install"},
	{Match: "Handler successfully installed", Event: EvInstalled, Operation: "install"},
	{Match: "Enabling Handler", Event: EvEnable, Operation: "enable"},
	{Match: "Handler successfully enabled", Event: EvEnabled, Operation: "enable"},
	{Match: "Disabling Handler", Event: EvDisable, Operation: "disable"},
	{Match: "Handler successfully disabled", Event: EvDisabled, Operation: "disable"},
	{Match: "Uninstalling Handler", Event: EvUninstall, Operation: "uninstall"},
	{Match: "Handler successfully uninstalled", Event: EvUninstalled, Operation: "uninstall"},
	{Match: "Updating Handler", Event: EvUpdate, Operation: "update"},
	{Match: "Comamnd Executed: ", Event: EvHandlerCommand}, // sic (CustomScriptHandler)
	{Match: "Command Executed: ", Event: EvHandlerCommand},
	{Match: "Process handler command: ", Event: EvHandlerCommand},
	{Match: "Loading configuration for sequence number", Event: EvReadingConfig},
	{Match: "sequence number is ", Event: EvReadingConfig}, // OSTC HandlerUtil
	{Match: "cwd is ", Event: EvStart},                     // OSTC HandlerUtil: a new handler process
	{Match: "Script is finished", Event: EvExecuted},       // OSTC CustomScriptForLinux
	{Match: "Using environment variable [", Event: EvEnvironment},
	{Match: "HandlerSettings =", Event: EvSettings},
	{Match: "Waiting for all async file download tasks", Event: EvDownloadStart},
	{Match: "Files downloaded. Asynchronously executing command", Event: EvExecuting},
	{Match: "Asynchronously executing", Event: EvExecuting},
	{Match: "Command execution task started", Event: EvExecuting},
	{Match: "RunCommand script execution task started", Event: EvExecuting},
	{Match: "Command to execute:", Event: EvExecuting}, // OSTC CustomScriptForLinux
	{Match: "Executing command:", Event: EvExecuting},
	{Match: "Command execution finished", Event: EvExecuted},
	{Match: "RunCommand script execution finished", Event: EvExecuted},
	{Match: "Current sequence number, ", Event: EvAlreadyProcessed},
	{Match: "this script configuration is already processed", Contains: true, Event: EvAlreadyProcessed},
	{Match: "Enabling plugin ", Event: EvEnable, Operation: "enable"},                                // WaAppAgent
	{Match: "Disabling plugin ", Event: EvDisable, Operation: "disable"},                             // WaAppAgent
	{Match: "Uninstalling plugin ", Event: EvUninstall, Operation: "uninstall"},                      // WaAppAgent
	{Match: "Installing plugin ", Event: EvInstall, Operation: "install"},                            // WaAppAgent
	{Match: "downloaded and installed to", Contains: true, Event: EvInstalled, Operation: "install"}, // WaAppAgent
	{Match: " reported status ", Contains: true, Event: EvStatus},                                    // WaAppAgent: Plugin X V [extension E] sequence number N reported status success.
	{Match: "failed for plugin", Contains: true, Event: EvPluginFailed},                              // WaAppAgent: Install failed for plugin (name: X, version V) with exception ...
	{Match: "has exited with Exit code", Contains: true, Event: EvExecuted},
}

var (
	ostcStatus  = regexp.MustCompile(`^(Install|Enable|Disable|Uninstall|Update|Daemon),([A-Za-z]+),(-?\d+),`)
	commandOf   = regexp.MustCompile(`(?i)Command .* of ([A-Za-z][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+){1,5}) has exited`)
	seqInText   = regexp.MustCompile(`(?i)(?:sequence number(?: is)?|\[?ConfigSequenceNumber\]?=?)\s*,?\s*(\d{1,18})`)
	extNameText = regexp.MustCompile(`(?:\[ConfigExtensionName\]=|ConfigExtensionName |\bextension )([A-Za-z0-9_.-]*[A-Za-z0-9_-])`)
	statusText  = regexp.MustCompile(` reported status (\w+)`)
	dashOp      = regexp.MustCompile(`" -(install|enable|disable|uninstall|update)\b`)
	handlerCmd  = regexp.MustCompile(`^(?:Comamnd|Command) Executed: (\w+)|^Process handler command: (\w+)`)
)

// classifyText sets Event, Operation, SeqNo, ExtensionName, ExitCode
// (and for WaAppAgent lines Handler/Version) from the message text.
// It is long because it is the ordered list of message patterns of every
// dialect: the first match wins, so the order is the behaviour.
func classifyText(r *Record) {
	m := r.Message
	if nl := strings.IndexByte(m, '\n'); nl >= 0 {
		m = m[:nl]
	}
	if r.Format == FormatOSTC {
		if s := ostcStatus.FindStringSubmatch(m); s != nil {
			r.Event = EvStatus
			r.Operation = strings.ToLower(s[1])
			f := r.Fields
			if f == nil {
				r.Fields = newFields()
				f = r.Fields
			}
			f.Set("status", s[2])
			f.Set("code", s[3])
			if strings.EqualFold(s[2], "error") || strings.EqualFold(s[2], "failed") {
				r.Error = m[len(s[0]):]
			}
			return
		}
	}
	for _, rule := range TextRules {
		hit := false
		if rule.Contains {
			hit = strings.Contains(m, rule.Match)
		} else {
			hit = strings.HasPrefix(m, rule.Match)
		}
		if !hit {
			continue
		}
		r.Event = rule.Event
		if rule.Operation != "" {
			r.Operation = rule.Operation
		}
		break
	}
	switch r.Event {
	case EvHandlerCommand:
		if s := handlerCmd.FindStringSubmatch(m); s != nil {
			r.Operation = strings.ToLower(s[1] + s[2])
		}
	case EvStatus:
		if s := statusText.FindStringSubmatch(m); s != nil {
			if r.Fields == nil {
				r.Fields = newFields()
			}
			r.Fields.Set("status", s[1])
		}
	case EvExecuting:
		if s := dashOp.FindStringSubmatch(m); s != nil {
			r.Operation = s[1]
		}
	case EvExecuted:
		if n, ok := exitStatus(m); ok {
			r.ExitCode, r.HasExitCode = n, true
		}
	}
	if r.SeqNo < 0 {
		if n, ok := seqNumber(m); ok {
			r.SeqNo = n
			if e := extName(m); e != "" && r.ExtensionName == "" {
				r.ExtensionName = e
			}
		}
	}
	if r.ExtensionName == "" && strings.HasPrefix(m, "Using environment variable [ConfigExtensionName]=") {
		r.ExtensionName = extName(m)
	}
	if r.Format == FormatWaAppAgent {
		// The regexes are gated by a substring they need (WaAppAgent.log is large).
		if strings.Contains(r.Message, "has exited") {
			if s := commandOf.FindStringSubmatch(r.Message); s != nil {
				r.Handler = s[1]
			}
		}
		if h, v := pluginNamed(m); h != "" && (r.Handler == "" || r.Handler == h) {
			r.Handler, r.Version = h, v
		}
		if r.Event == EvPluginFailed {
			r.Error = m
			if strings.HasPrefix(m, "Install ") {
				r.Operation = "install"
			} else if i := strings.Index(m, " failed for plugin"); i > 0 && i < 20 {
				r.Operation = strings.ToLower(m[:i])
			}
			if n, ok := exitStatus(r.Message); ok {
				r.ExitCode, r.HasExitCode = n, true
			}
		}
		if r.Event == "" && r.Handler != "" {
			r.Event = EvPlugin
		}
	}
	if r.Level == "ERROR" && r.Error == "" && r.Format != FormatOSTC {
		r.Error = m
	}
}

// pluginNamed finds "plugin <Publisher.Type> [version ]<ver>" and
// "plugin (name: <Publisher.Type>, version <ver>)" (also after "extension"
// and "handler", any case) in a WaAppAgent message, without a regexp.
func pluginNamed(m string) (handler, version string) {
	for off := 0; off < len(m); {
		i := indexWord(m[off:])
		if i < 0 {
			return "", ""
		}
		j := off + i
		off = j + 1
		k := j
		for k < len(m) && m[k] != ' ' && m[k] != '(' {
			k++
		}
		k = skip(m, k, " ")
		if strings.HasPrefix(m[k:], "(name:") {
			k = skip(m, k+6, " ")
		}
		e := k
		for e < len(m) && (isAlnum(m[e]) || m[e] == '.' || m[e] == '_' || m[e] == '-') {
			e++
		}
		name := strings.TrimRight(m[k:e], ".")
		if strings.Count(name, ".") < 1 || !isAlpha(name[0]) {
			continue
		}
		v := e
		v = skip(m, v, ", ")
		if strings.HasPrefix(m[v:], "version") {
			v = skip(m, v+7, " ")
		}
		ve := v
		for ve < len(m) && (isDigit(m[ve]) || m[ve] == '.') {
			ve++
		}
		ver := strings.TrimRight(m[v:ve], ".")
		if looksVersion(ver) && strings.Contains(ver, ".") {
			return name, ver
		}
	}
	return "", ""
}

// indexWord finds the next "plugin", "extension" or "handler" (any case).
func indexWord(m string) int {
	best := -1
	for _, w := range []string{"lugin", "xtension", "andler"} {
		if i := strings.Index(m, w); i >= 1 && (best < 0 || i-1 < best) {
			c := m[i-1] | 0x20
			if c == 'p' || c == 'e' || c == 'h' {
				best = i - 1
			}
		}
	}
	return best
}

func skip(m string, i int, chars string) int {
	for i < len(m) && strings.IndexByte(chars, m[i]) >= 0 {
		i++
	}
	return i
}

func isAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isAlnum(c byte) bool { return isAlpha(c) || isDigit(c) }

// seqNumber finds "sequence number[ is][,] N" (any case of the s) or
// "[ConfigSequenceNumber]=N" / "ConfigSequenceNumber N".
func seqNumber(m string) (int64, bool) {
	for _, key := range []string{"equence number", "ConfigSequenceNumber"} {
		for off := 0; off < len(m); {
			i := strings.Index(m[off:], key)
			if i < 0 {
				break
			}
			j := off + i + len(key)
			off = j
			j = skip(m, j, " ],=:")
			if strings.HasPrefix(m[j:], "is ") {
				j = skip(m, j+3, " ")
			}
			if n, e, ok := digits([]byte(m[j:min(len(m), j+19)]), 0); ok && (j+e >= len(m) || !isDigit(m[j+e])) {
				return n, true
			}
		}
	}
	return 0, false
}

// extName finds the extension name in "[ConfigExtensionName]=X",
// "ConfigExtensionName X" or "extension X[,]".
func extName(m string) string {
	for _, key := range []string{"[ConfigExtensionName]=", "ConfigExtensionName ", "extension "} {
		i := strings.Index(m, key)
		if i < 0 || (key == "extension " && i > 0 && isAlnum(m[i-1])) {
			continue
		}
		j := i + len(key)
		e := j
		for e < len(m) && (isAlnum(m[e]) || m[e] == '_' || m[e] == '-' || m[e] == '.') {
			e++
		}
		if name := strings.TrimRight(m[j:e], "."); name != "" {
			return name
		}
	}
	return ""
}

package handlerlog

import (
	"regexp"
	"strconv"
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
	ostcStatus   = regexp.MustCompile(`^(Install|Enable|Disable|Uninstall|Update|Daemon),([A-Za-z]+),(-?\d+),`)
	pluginNameRe = regexp.MustCompile(`(?i)(?:plugin|extension|handler)\s*(?:\(name:\s*)?([A-Za-z][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+){1,5})(?:,|\s)\s*(?:version\s*)?(\d+(?:\.\d+){1,3})`)
	commandOf    = regexp.MustCompile(`(?i)Command .* of ([A-Za-z][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+){1,5}) has exited`)
	seqInText    = regexp.MustCompile(`(?i)(?:sequence number(?: is)?|\[?ConfigSequenceNumber\]?=?)\s*,?\s*(\d{1,18})`)
	extNameText  = regexp.MustCompile(`(?:\[ConfigExtensionName\]=|ConfigExtensionName |\bextension )([A-Za-z0-9_.-]*[A-Za-z0-9_-])`)
	statusText   = regexp.MustCompile(` reported status (\w+)`)
	dashOp       = regexp.MustCompile(`" -(install|enable|disable|uninstall|update)\b`)
	handlerCmd   = regexp.MustCompile(`^(?:Comamnd|Command) Executed: (\w+)|^Process handler command: (\w+)`)
)

// classifyText sets Event, Operation, SeqNo, ExtensionName, ExitCode
// (and for WaAppAgent lines Handler/Version) from the message text.
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
	if r.SeqNo < 0 && (strings.Contains(m, "equence") || strings.Contains(m, "ConfigSequenceNumber")) {
		if s := seqInText.FindStringSubmatch(m); s != nil {
			if n, err := strconv.ParseInt(s[1], 10, 64); err == nil {
				r.SeqNo = n
				if e := extNameText.FindStringSubmatch(m); e != nil && r.ExtensionName == "" {
					r.ExtensionName = e[1]
				}
			}
		}
	} else if r.ExtensionName == "" && strings.HasPrefix(m, "Using environment variable [ConfigExtensionName]=") {
		if e := extNameText.FindStringSubmatch(m); e != nil {
			r.ExtensionName = e[1]
		}
	}
	if r.Format == FormatWaAppAgent {
		if s := commandOf.FindStringSubmatch(r.Message); s != nil {
			r.Handler = s[1]
		}
		if s := pluginNameRe.FindStringSubmatch(m); s != nil {
			if r.Handler == "" || r.Handler == s[1] {
				r.Handler, r.Version = s[1], s[2]
			}
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

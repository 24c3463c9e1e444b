package eventlog

import (
	"regexp"
	"strings"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/catalog"
	"github.com/azvql/azvql/plugins/vqlkit"
)

// AgentColumns are azure_agent_events' columns.
var AgentColumns = []string{
	"Time", "Channel", "EventID", "Level", "Handler", "HandlerFolder", "Version", "Operation",
	"Text", "Computer", "RecordID", "OSPath", "Event",
}

var agentColumns = vqlkit.NewColumns(AgentColumns...)

// Operations, as the Operation column spells them.
const (
	OpInstall   = "install"
	OpEnable    = "enable"
	OpDisable   = "disable"
	OpUninstall = "uninstall"
	OpUpdate    = "update"
	OpFailure   = "failure"
)

var (
	// The layout of the agent's event data is not public (formats.md
	// 4.3): values are read wherever they are. A version is a dotted
	// number; a handler name is Publisher.Type.
	versionRe   = regexp.MustCompile(`^\d+(\.\d+){1,3}$`)
	extNameRe   = regexp.MustCompile(`\b([A-Za-z][A-Za-z0-9]*(?:\.[A-Za-z][A-Za-z0-9]*){2,})\b`)
	operationRe = regexp.MustCompile(`(?i)\b(uninstall|install|enable|disable|update|upgrade)`)
	failureRe   = regexp.MustCompile(`(?i)\b(fail|failed|failure|exception|error)\b`)
)

// AgentEvent pulls handler, version and operation out of an event of the
// agent's channels. handler is the catalogue's name when the catalogue
// knows it (case as catalogued); folder is the name as the event gives
// it, also for handlers outside the catalogue.
func AgentEvent(ev *Event) (handler *catalog.Handler, folder, version, operation string) {
	texts := ev.Texts()
	for _, t := range texts {
		if folder == "" {
			for _, m := range extNameRe.FindAllString(t, -1) {
				if versionRe.MatchString(m) {
					continue
				}
				if h := catalog.Lookup(catalog.Windows, m); h != nil {
					handler, folder = h, m
					break
				}
				if folder == "" && strings.Count(m, ".") >= 2 && !strings.HasSuffix(strings.ToLower(m), ".exe") {
					folder = m
				}
			}
		}
		if version == "" && versionRe.MatchString(strings.TrimSpace(t)) {
			version = strings.TrimSpace(t)
		}
	}
	// A value that is exactly an operation wins over one inside a
	// sentence; an error-level event or a failure text is a failure.
	for _, t := range texts {
		if m := operationRe.FindString(t); m != "" && strings.EqualFold(strings.TrimSpace(t), m) {
			operation = normOp(m)
			break
		}
	}
	if ev.Level == 1 || ev.Level == 2 {
		operation = OpFailure
	}
	if operation == "" {
		for _, t := range texts {
			if failureRe.MatchString(t) {
				operation = OpFailure
				break
			}
			if m := operationRe.FindString(t); m != "" {
				operation = normOp(m)
				break
			}
		}
	}
	return handler, folder, version, operation
}

func normOp(s string) string {
	s = strings.ToLower(s)
	if s == "upgrade" {
		return OpUpdate
	}
	return s
}

// agentRow is one AgentColumns row.
func agentRow(ev *Event) *ordereddict.Dict {
	h, folder, version, op := AgentEvent(ev)
	var handler interface{}
	if h != nil {
		handler = h.Name
	}
	return agentColumns.Row(vqlkit.Time(ev.Time), ev.Channel, ev.EventID, ev.Level, handler, vqlkit.Str(folder),
		vqlkit.Str(version), vqlkit.Str(op), vqlkit.Str(strings.Join(ev.Texts(), " | ")), vqlkit.Str(ev.Computer),
		ev.RecordID, ev.OSPath, ev.Raw)
}

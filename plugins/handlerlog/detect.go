package handlerlog

import (
	"bytes"
	"strings"
	"time"

	"github.com/azvql/azvql/plugins/catalog"
	"github.com/azvql/azvql/plugins/evidence"
)

// detectLines is how many lines of the head of a file Detect looks at.
const detectLines = 64

// Detect names the dialect of a log from its first lines (head) and, as
// a hint where the lines say nothing or are ambiguous, its path on the
// evidence system.
func Detect(head []byte, name string) string {
	base := strings.ToLower(evidence.ParseEvPath(name).Base())
	var p Assembler
	p.opt.Loc = time.UTC
	var r Record
	slashNoLevel := false
	for n := 0; n < detectLines && len(head) > 0; n++ {
		var line []byte
		if i := bytes.IndexByte(head, '\n'); i >= 0 {
			line, head = head[:i], head[i+1:]
		} else {
			line, head = head, nil
		}
		line = bytes.TrimRight(line, "\r")
		if n == 0 {
			line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
		}
		if len(line) == 0 {
			continue
		}
		switch {
		case p.winPluginLine(line, &r):
			return FormatWinPlugin
		case p.waAppAgentLine(line, &r):
			return FormatWaAppAgent
		case bytes.HasPrefix(line, []byte("time=")):
			return FormatLogfmt
		case waagentLine(line):
			return FormatWaagent
		case p.ostcLine(line, &r):
			// waagent 2.0 and OSTC extensions write the same lines.
			slashNoLevel = true
		}
		if slashNoLevel {
			break
		}
	}
	if slashNoLevel {
		if strings.HasPrefix(base, "waagent") || base == "commandexecution.log" {
			return FormatWaagent
		}
		return FormatOSTC
	}
	switch {
	case base == "handler.log":
		return FormatLogfmt
	case base == "extension.log":
		return FormatOSTC
	case strings.HasPrefix(base, "waappagent") || strings.HasPrefix(base, "transparentinstaller"):
		return FormatWaAppAgent
	case strings.HasPrefix(base, "waagent"), strings.HasPrefix(base, "syslog"), strings.HasPrefix(base, "messages"):
		return FormatWaagent // agentlog reads syslog-wrapped agent lines too
	case base == "commandexecution.log" && !evidence.ParseEvPath(name).Windows:
		return FormatWaagent
	case strings.HasSuffix(base, ".log") && evidence.ParseEvPath(name).Windows:
		return FormatWinPlugin
	}
	return FormatText
}

// waagentLine: an agent line of the 2.2+ eras (ISO UTC or slash date with
// a fraction, then a level).
func waagentLine(b []byte) bool {
	var i int
	var ok bool
	if len(b) > 20 && b[4] == '-' {
		_, i, ok = isoTime(b, 0)
	} else if len(b) > 20 && b[4] == '/' {
		var p Assembler
		p.opt.Loc = time.UTC
		_, i, ok = p.slashTime(b, 0)
		if ok && bytes.IndexByte(b[:i], '.') < 0 {
			return false // no fraction: the 2.0 era (handled by the caller)
		}
	}
	if !ok || !at(b, i, " ") {
		return false
	}
	for _, l := range []string{"VERBOSE ", "INFO ", "WARNING ", "ERROR "} {
		if at(b, i+1, l) {
			return true
		}
	}
	return false
}

// pathHint is what a log's path says about its writer.
type pathHint struct {
	handler, version string
}

// hintFromPath reads Handler and Version from a log's evidence path:
// C:\WindowsAzure\Logs\Plugins\<Handler>\<version>\X.log,
// /var/log/azure/<Handler>[/<version>]/X.log, /var/log/azure/run-command/handler.log.
func hintFromPath(name string) pathHint {
	ev := evidence.ParseEvPath(name)
	parts := ev.Parts
	var h pathHint
	for i, c := range parts {
		if ev.Windows && strings.EqualFold(c, "Plugins") && i+2 < len(parts) && i > 0 && strings.EqualFold(parts[i-1], "Logs") {
			h.handler = parts[i+1]
			if i+3 < len(parts) && looksVersion(parts[i+2]) {
				h.version = parts[i+2]
			}
			return h
		}
		if !ev.Windows && c == "azure" && i > 0 && parts[i-1] == "log" && i+2 < len(parts) {
			d := parts[i+1]
			if n := catalog.ByLinuxLogDir(d); n != nil {
				h.handler = n.Name
			} else if strings.Contains(d, ".") {
				h.handler = d
			}
			if i+3 < len(parts) && looksVersion(parts[i+2]) {
				h.version = parts[i+2]
			}
			return h
		}
	}
	return h
}

func looksVersion(s string) bool {
	if s == "" || !isDigit(s[0]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) && s[i] != '.' {
			return false
		}
	}
	return true
}

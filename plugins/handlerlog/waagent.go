package handlerlog

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/agentlog"
	"github.com/azvql/azvql/plugins/redact"
)

// agentOps maps agentlog Events to the operation they start.
var agentOps = map[string]string{
	agentlog.EvEnable:    "enable",
	agentlog.EvInstall:   "install",
	agentlog.EvUninstall: "uninstall",
	agentlog.EvDisable:   "disable",
	agentlog.EvUpdate:    "update",
}

// readWaagent parses waagent-format lines (Linux CommandExecution.log,
// waagent.log) with plugins/agentlog and maps its rows onto Records.
// Operation is carried per handler from the agent's "Enable extension",
// "Install extension", ... and "Executing command: <cmd> <op>" records.
func readWaagent(ctx context.Context, r io.Reader, opt Options, kind string, logf func(string), emit func(*Record) bool) {
	type state struct{ op string }
	states := map[handlerKey]*state{}
	rb := &agentlog.RowBuilder{Redact: opt.Redact}
	hint := hintFromPath(opt.Name)
	// One Record for every emit (valid during the callback, as the other
	// dialects' Assembler emits its own): a record allocated per call
	// cost a tenth of azure_log_executions over a large waagent.log.
	var rec Record
	a := agentlog.NewAssembler(agentlog.Options{Loc: opt.Loc, MaxLine: opt.MaxLine, MaxRecord: opt.MaxRecord},
		func(ar *agentlog.Record) bool {
			if ctx.Err() != nil {
				return false
			}
			if ar.Truncated {
				logf(opt.Name + ": line " + itoa(ar.Line) + ": record truncated (line or record longer than the cap)")
			}
			clean := false // redaction is known to leave Message (and Error, a part of it) as they are
			if opt.ExecOnly {
				var keep bool
				if rec, clean, keep = execRecord(ar, rb, hint.handler); !keep {
					return true
				}
			} else {
				rec = fromAgentRow(rb.Row(ar))
				if rec.Handler == "" {
					rec.Handler = hint.handler
				}
			}
			if opt.Redact && !clean {
				rec.Message = redact.CommandLine(rec.Message)
				rec.Error = redact.CommandLine(rec.Error)
			}
			if rec.Handler == "" {
				// Operation is carried for a handler only: a record of no
				// handler keeps no state (and is not read by ExecOnly).
				return emit(&rec)
			}
			st := states[handlerKey{rec.Handler, rec.ExtensionName}]
			if st == nil {
				if len(states) > maxProcs {
					states = map[handlerKey]*state{}
				}
				st = &state{}
				states[handlerKey{strings.Clone(rec.Handler), strings.Clone(rec.ExtensionName)}] = st
			}
			if op := agentOps[rec.Event]; op != "" {
				st.op = op
			} else if rec.Event == agentlog.EvExecuting {
				if op := executingOpOf(ar, rb, opt.Redact); op != "" {
					st.op = op
				}
			}
			if rec.Operation != "" {
				st.op = rec.Operation
			} else if rec.Handler != "" {
				rec.Operation = st.op
			}
			return emit(&rec)
		})
	_, err := agentlog.Scan(r, a)
	if err != nil && !errors.Is(err, context.Canceled) {
		reportReadError(logf, opt.Name, kind, a.Lines(), err)
	}
}

// executingOpOf is an Executing record's operation, read from its
// message as the row shows it: as logged when redaction cannot change
// it (then azure_log_executions needs neither the message's string nor
// its redaction), else redacted, so that a secret in the operation's
// place ("shim --password disable ...") never becomes an Operation.
func executingOpOf(ar *agentlog.Record, rb *agentlog.RowBuilder, redactOn bool) string {
	if !redactOn || !redact.MayHoldSecret(ar.Msg) {
		return executingOp(ar.Msg)
	}
	m, clean := rb.MessageClean(ar)
	if !clean {
		m = redact.CommandLine(m)
	}
	return executingOp([]byte(m))
}

// executingOp: "Executing command: /var/lib/waagent/X/bin/shim enable with
// environment variables: {...}" -> "enable".
func executingOp(m []byte) string {
	if i := bytes.Index(m, withEnv); i > 0 {
		m = m[:i]
	}
	if nl := bytes.IndexByte(m, '\n'); nl >= 0 {
		m = m[:nl]
	}
	m = bytes.TrimSpace(m)
	if i := bytes.LastIndexAny(m, " -"); i >= 0 {
		return opWord(m[i+1:])
	}
	return ""
}

var withEnv = []byte(" with environment variables")

// opWord is w's operation when w lowers to one (strings.ToLower: U+0130
// lowers to 'i', so a word that is not ASCII takes that path).
func opWord(w []byte) string {
	if !isASCII(w) {
		switch op := strings.ToLower(string(w)); op {
		case "enable", "install", "uninstall", "disable", "update":
			return op
		}
		return ""
	}
	if len(w) < 6 || len(w) > 9 {
		return ""
	}
	var b [9]byte
	for i, c := range w {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	switch op := string(b[:len(w)]); op {
	case "enable", "install", "uninstall", "disable", "update":
		return op
	}
	return ""
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// handlerInPath finds /var/lib/waagent/<Publisher.Type>-<version>/ in a message.
func handlerInPath(m string) (string, string) {
	const dir = "/var/lib/waagent/"
	i := strings.Index(m, dir)
	if i < 0 {
		return "", ""
	}
	rest := m[i+len(dir):]
	if j := strings.IndexByte(rest, '/'); j > 0 {
		rest = rest[:j]
	} else {
		return "", ""
	}
	d := strings.LastIndexByte(rest, '-')
	if d <= 0 || !looksVersion(rest[d+1:]) || !strings.Contains(rest[:d], ".") {
		return "", ""
	}
	return rest[:d], rest[d+1:]
}

func str(d *ordereddict.Dict, k string) string {
	v, _ := d.Get(k)
	s, _ := v.(string)
	return s
}

func fromAgentRow(row *ordereddict.Dict) Record {
	rec := newRecord(0, FormatWaagent)
	if v, ok := row.Get("Line"); ok {
		rec.Line, _ = v.(int64)
	}
	if v, ok := row.Get("Time"); ok {
		if t, ok := v.(time.Time); ok {
			rec.Time = t
		}
	}
	rec.Level = str(row, "Level")
	if v, ok := row.Get("Pid"); ok {
		if n, ok := v.(int64); ok {
			rec.Pid = n
		}
	}
	rec.Handler = str(row, "Handler")
	rec.Version = str(row, "HandlerVersion")
	rec.ExtensionName = str(row, "ExtensionName")
	rec.Event = str(row, "Event")
	rec.Message = str(row, "Message")
	if v, ok := row.Get("SeqNo"); ok {
		if n, ok := v.(int64); ok {
			rec.SeqNo = n
		}
	}
	if v, ok := row.Get("Unparsed"); ok {
		rec.Unparsed, _ = v.(bool)
	}
	f := ordereddict.NewDict()
	for _, k := range []string{"Thread", "Tag", "Era", "Host", "Env"} {
		if v, ok := row.Get(k); ok && v != nil {
			f.Set(k, v)
		}
	}
	if f.Len() > 0 {
		rec.Fields = f
	}
	agentTail(&rec, str(row, "Era"))
	return rec
}

// agentTail sets what a waagent record's Message says: the exit code of
// "... exit code N" lines, Error (the first line of an ERROR or a
// non-zero exit), the handler named by the command's path, and an OSTC
// extension's status line (era 2.0). rec.Message is the row's Message.
func agentTail(rec *Record, era string) {
	first := rec.Message
	if nl := strings.IndexByte(first, '\n'); nl >= 0 {
		first = first[:nl]
	}
	if strings.Contains(rec.Message, "exit code") || strings.Contains(rec.Message, "Exit code") {
		if n, ok := exitStatus(first); ok {
			rec.ExitCode, rec.HasExitCode = n, true
		}
	}
	if rec.Level == "ERROR" || rec.HasExitCode && rec.ExitCode != 0 {
		rec.Error = first
	}
	if rec.Handler == "" && rec.HasExitCode {
		// "[ExtensionError] Non-zero exit code: 1, /var/lib/waagent/<Handler>-<version>/bin/<cmd>"
		// is logged with the agent's prefix: the command's path names the handler.
		if h, v := handlerInPath(first); h != "" {
			rec.Handler, rec.Version = h, v
		}
	}
	if era == agentlog.Era20 {
		// OSTC extensions writing into waagent.log: their status lines.
		if s := ostcStatus.FindStringSubmatch(first); s != nil {
			rec.Event = EvStatus
			rec.Operation = strings.ToLower(s[1])
			if rec.Fields == nil {
				rec.Fields = ordereddict.NewDict()
			}
			rec.Fields.Set("status", s[2]).Set("code", s[3])
		}
	}
}

var xitCode = []byte("xit code")

// hasExitCodeWord: m holds "exit code" or "Exit code" (one search).
func hasExitCodeWord(m []byte) bool {
	for {
		i := bytes.Index(m, xitCode)
		if i < 0 {
			return false
		}
		if i > 0 && (m[i-1] == 'e' || m[i-1] == 'E') {
			return true
		}
		m = m[i+len(xitCode):]
	}
}

// execRecord is fromAgentRow for azure_log_executions (Options.ExecOnly):
// the fields ExecBuilder reads (Line, Time, Level, Pid, Handler, Version,
// ExtensionName, Event, SeqNo, Unparsed, Operation, Error, ExitCode,
// Fields' status), with the same values, computed from the agent record
// without building its row; Message only where those need it (an exit
// code, an ERROR, an era 2.0 status line; an Executing command's
// operation is read from the record's bytes). clean: redacting Message
// and Error again (as readWaagent does the rows' values) would leave
// them as they are. keep is false for a record of no handler
// (ExecBuilder ignores those): it costs only the test for an exit code
// in its text.
// TestExecRecordMatchesRow and FuzzExecRecord hold it to fromAgentRow.
func execRecord(ar *agentlog.Record, rb *agentlog.RowBuilder, hintHandler string) (rec Record, clean, keep bool) {
	exitWord := hasExitCodeWord(ar.Msg)
	if !ar.HasHandler() && hintHandler == "" && !exitWord {
		return rec, false, false
	}
	s := rb.Summary(ar)
	rec = newRecord(ar.Line, FormatWaagent)
	if !ar.Time.IsZero() {
		rec.Time = ar.Time.UTC()
	}
	rec.Level = s.Level
	if ar.Pid >= 0 {
		rec.Pid = ar.Pid
	}
	rec.Handler, rec.Version, rec.ExtensionName, rec.Event = s.Handler, s.HandlerVersion, s.ExtensionName, s.Event
	if s.HasSeqNo {
		rec.SeqNo = s.SeqNo
	}
	rec.Unparsed = ar.Unparsed
	era := ar.Era()
	// The redacted text holds "exit code" only where the text does
	// (redaction puts [REDACTED] in place of a value, removing nothing
	// around it), so without the word the Message is not needed here.
	clean = true // no Message, no Error: nothing to redact
	// An Executing record's operation is read from ar.Msg (executingOp);
	// without these, agentTail would set nothing from the Message.
	if exitWord || s.Level == "ERROR" || era == agentlog.Era20 {
		rec.Message, clean = rb.MessageClean(ar)
		agentTail(&rec, era)
	}
	if rec.Handler == "" {
		rec.Handler = hintHandler
	}
	return rec, clean, rec.Handler != ""
}

package agentlog

import (
	"context"
	"fmt"
	"time"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/evidence"
	"github.com/azvql/azvql/plugins/vqlkit"
	"www.velocidex.com/golang/vfilter"
	"www.velocidex.com/golang/vfilter/types"
)

const journalPluginName = "azure_waagent_journal"

// JournalGlobs are where journald keeps its files (persistent, then
// volatile); *.journal~ are files journald found corrupt and set aside.
var JournalGlobs = []string{
	"/var/log/journal/*/*.journal", "/var/log/journal/*/*.journal~",
	"/run/log/journal/*/*.journal", "/run/log/journal/*/*.journal~",
}

// agentUnits are the agent's systemd units (docs/formats.md 1.11
// "Syslog / journal"): its stdout lines land in the journal under them.
var agentUnits = map[string]bool{"waagent.service": true, "walinuxagent.service": true}

// agentIdents are syslog identifiers of agent lines outside those units.
var agentIdents = map[string]bool{"waagent": true, "WALinuxAgent": true}

// WaagentJournalArgs are the arguments of azure_waagent_journal.
type WaagentJournalArgs struct {
	Filename string `vfilter:"optional,field=filename,doc=One journal file, as a path on the evidence system (default: every file under /var/log/journal and /run/log/journal)."`
	Accessor string `vfilter:"optional,field=accessor,doc=The accessor that reads the evidence (default auto: the host's files)."`
	Root     string `vfilter:"optional,field=root,doc=The root of the evidence system; filename is a path below it. Default: the running system."`
	Tz       string `vfilter:"optional,field=tz,doc=IANA time zone of the VM for the local-time eras of agents before 2.2.46 (default UTC)."`
	Redact   bool   `vfilter:"optional,field=redact,doc=Redact secrets (SAS sig= values and storage keys and passwords) in Message and Env; default true."`
}

// WaagentJournalPlugin is azure_waagent_journal: the agent's lines kept
// only in the systemd journal (distributions without syslog files),
// read through the host's parse_journald and fed to the same parser as
// syslog lines, so the rows are azure_waagent_log's.
type WaagentJournalPlugin struct{}

// Info describes the plugin.
func (WaagentJournalPlugin) Info(scope types.Scope, typeMap *types.TypeMap) *types.PluginInfo {
	return &types.PluginInfo{
		Name: journalPluginName,
		Doc: "The Azure Linux agent's lines in the systemd journal (units waagent.service, walinuxagent.service), read with the host's " +
			"parse_journald and parsed as syslog lines: azure_waagent_log's columns.",
		ArgType: typeMap.AddType(scope, &WaagentJournalArgs{}),
		Version: 1,
	}
}

// Columns are the plugin's row columns (vqlkit.Declared).
func (WaagentJournalPlugin) Columns() []string { return Columns }

// Call runs the plugin.
func (WaagentJournalPlugin) Call(ctx context.Context, scope types.Scope, args *ordereddict.Dict) <-chan types.Row {
	arg := &WaagentJournalArgs{}
	return vqlkit.Run(ctx, scope, args, journalPluginName, arg, func(out chan vfilter.Row) {
		arg.Redact = vqlkit.Redact(args, arg.Redact)
		loc := time.UTC
		if arg.Tz != "" {
			l, err := time.LoadLocation(arg.Tz)
			if err != nil {
				vqlkit.Errorf(scope, journalPluginName, "tz %q: %v", arg.Tz, err)
				return
			}
			loc = l
		}
		parse, ok := scope.GetPlugin("parse_journald")
		if !ok {
			vqlkit.Errorf(scope, journalPluginName, "the host has no parse_journald plugin")
			return
		}
		root := vqlkit.OpenRootForFile(scope, journalPluginName, arg.Accessor, arg.Root)
		if root == nil {
			return
		}
		files := []string{arg.Filename}
		if arg.Filename == "" {
			files = nil
			for _, g := range JournalGlobs {
				list, _ := root.Glob(g)
				for _, e := range list {
					if !e.IsDir && root.Readable(e) { // links and FIFOs reported, not read
						files = append(files, e.OSPath)
					}
				}
			}
		}
		rb := &RowBuilder{Redact: arg.Redact}
		for _, f := range files {
			if !journalFile(ctx, scope, root, parse, arg.Accessor, f, loc, rb, out) {
				return
			}
		}
	})
}

// journalFile feeds one file's agent entries to an assembler as syslog
// lines ("Jun 10 14:02:11 host python3[1088]: message"); false: stop.
func journalFile(ctx context.Context, scope types.Scope, root *evidence.Root, parse types.PluginGeneratorInterface,
	accessor, file string, loc *time.Location, rb *RowBuilder, out chan vfilter.Row) bool {
	e, err := root.Lstat(file)
	if err != nil {
		vqlkit.Logf(scope, journalPluginName, "%s: %v", file, err)
		return true
	}
	if !root.Readable(e) {
		return true
	}
	acc, err := root.Resolve(file)
	if err != nil {
		vqlkit.Logf(scope, journalPluginName, "%s: %v", file, err)
		return true
	}
	stopped := false
	a := NewAssembler(Options{Loc: loc}, func(r *Record) bool {
		if !vqlkit.Send(ctx, out, rb.Row(r)) {
			stopped = true
			return false
		}
		return true
	})
	pargs := ordereddict.NewDict().Set("filename", acc).Set("raw", true)
	if accessor != "" {
		pargs.Set("accessor", accessor)
	}
	sub, cancel := context.WithCancel(ctx)
	defer cancel()
	for row := range parse.Call(sub, scope, pargs) {
		if stopped {
			cancel()
			continue
		}
		d, ok := row.(*ordereddict.Dict)
		if !ok {
			continue
		}
		unit, _ := d.GetString("_SYSTEMD_UNIT")
		ident, _ := d.GetString("SYSLOG_IDENTIFIER")
		if !agentUnits[unit] && !agentIdents[ident] {
			continue
		}
		msg, _ := d.GetString("MESSAGE")
		host, _ := d.GetString("_HOSTNAME")
		pid, _ := d.GetString("_PID")
		if pid == "" {
			pid, _ = d.GetString("SYSLOG_PID")
		}
		ts, _ := d.Get("Timestamp")
		t, _ := ts.(time.Time)
		if ident == "" {
			ident = "waagent"
		}
		if host == "" {
			host = "localhost"
		}
		line := fmt.Sprintf("%s %s %s[%s]: %s", t.In(loc).Format(time.Stamp), host, ident, pid, msg)
		if pid == "" {
			line = fmt.Sprintf("%s %s %s: %s", t.In(loc).Format(time.Stamp), host, ident, msg)
		}
		if !t.IsZero() {
			a.opt.YearHint, a.opt.MonthHint = t.In(loc).Year(), int(t.In(loc).Month())
		}
		if !a.Line([]byte(line), false) {
			stopped = true
		}
	}
	if !stopped {
		a.Flush()
	}
	return !stopped && ctx.Err() == nil
}

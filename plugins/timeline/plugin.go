// Package timeline is azure_timeline: one time-sorted table of every
// source the project reads (Generic.Azure.Timeline), sorted in bounded
// memory (runs spilled to temp files and merged).
package timeline

import (
	"context"
	"fmt"
	"time"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/vqlkit"
	"www.velocidex.com/golang/vfilter"
)

const pluginName = "azure_timeline"

// Args are azure_timeline's arguments.
type Args struct {
	Root         string      `vfilter:"optional,field=root,doc=Root of the evidence (empty for the running system; a Linux root or a C: drive folder)."`
	Accessor     string      `vfilter:"optional,field=accessor,doc=The accessor that reads the evidence (default auto: the host's files, or vql --image's volume)."`
	Redact       bool        `vfilter:"optional,field=redact,doc=Replace SAS signatures, storage keys and passwords with [REDACTED] in every source row (default true)."`
	Decrypt      string      `vfilter:"optional,field=decrypt,doc=Decrypt protectedSettings of executions and goal states: auto, Y or N (as azure_run_executions)."`
	Keys         []string    `vfilter:"optional,field=keys,doc=Key files (PEM or PFX) for decrypt."`
	Password     string      `vfilter:"optional,field=password,doc=Password of the PFX files in keys."`
	Tz           string      `vfilter:"optional,field=tz,doc=IANA time zone of the VM for the local-time log formats (default UTC)."`
	ActivityLogs vfilter.Any `vfilter:"optional,field=activity_logs,doc=Azure Activity Log export files (a path or a list of them) of any shape azure_activity_operations reads, whose operations join the timeline as Source ActivityLog."`
	VMName       string      `vfilter:"optional,field=vm_name,doc=Only Activity Log operations on VMs whose name matches this regex (case-insensitive)."`
	Image        string      `vfilter:"optional,field=image,doc=A disk image on this system whose NTFS volume's MFT entries and USN records of the extension folders join the timeline (default: the accessor's volume when it is NTFS, else none)."`
	USNFile      string      `vfilter:"optional,field=usn_file,doc=An extracted $UsnJrnl:$J (a triage collection's) whose records join the timeline as Source USN (every record: an extracted journal has no MFT to place them under the extension folders)."`
	DateAfter    vfilter.Any `vfilter:"optional,field=date_after,doc=Only rows at or after this time (rows without a time are always kept)."`
	DateBefore   vfilter.Any `vfilter:"optional,field=date_before,doc=Only rows at or before this time."`
	Undated      bool        `vfilter:"optional,field=undated,doc=Return the rows whose source gave no time (sorted by Source, OSPath, Summary) instead of the timeline."`
	TempDir      string      `vfilter:"optional,field=tempdir,doc=Folder for the sorted runs spilled when the timeline is large (default the system's temp folder; removed when done)."`
	RunBytes     int64       `vfilter:"optional,field=run_bytes,doc=Size of rows kept in memory before a sorted run is spilled (default 16 MiB)."`

	redact        bool
	after, before time.Time
}

// Columns are the timeline's columns.
var Columns = []string{"Time", "TimeKind", "Source", "Handler", "ExtensionName", "SeqNo", "Summary",
	"Detail", "OSPath", "TimeConflict"}

var columns = vqlkit.NewColumns(Columns...)

// Plugin is azure_timeline.
type Plugin struct{}

// Plugins returns the plugins of this package.
func Plugins() []vfilter.PluginGeneratorInterface {
	return []vfilter.PluginGeneratorInterface{Plugin{}}
}

// Columns are the plugin's row columns (vqlkit.Declared).
func (Plugin) Columns() []string { return Columns }

func (Plugin) Info(scope vfilter.Scope, tm *vfilter.TypeMap) *vfilter.PluginInfo {
	return &vfilter.PluginInfo{
		Name: pluginName,
		Doc: "One time-sorted table of everything azvql reads that carries a time (Generic.Azure.Timeline): " +
			"executions, settings and status files, handler folders, goal states, agent and handler log events, " +
			"telemetry, Windows event-log events, MFT/USN records of an NTFS volume, Activity Log operations. " +
			"Detail is the source row. Sorted in bounded memory (sorted runs spilled to tempdir and merged). " +
			"Columns: Time, TimeKind, Source, Handler, ExtensionName, SeqNo, Summary, Detail, OSPath, TimeConflict.",
		ArgType: tm.AddType(scope, &Args{}),
		Version: 1,
	}
}

func (Plugin) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) <-chan vfilter.Row {
	a := &Args{}
	return vqlkit.Run(ctx, scope, args, pluginName, a, func(out chan vfilter.Row) {
		a.redact = vqlkit.Redact(args, a.Redact)
		var err error
		if a.after, err = vqlkit.TimeArg(a.DateAfter); err != nil {
			vqlkit.Errorf(scope, pluginName, "date_after: %v", err)
			return
		}
		if a.before, err = vqlkit.TimeArg(a.DateBefore); err != nil {
			vqlkit.Errorf(scope, pluginName, "date_before: %v", err)
			return
		}
		s := &Sorter{Dir: a.TempDir, RunBytes: int(a.RunBytes)}
		defer func() {
			if err := s.Close(); err != nil {
				vqlkit.Warnf(scope, pluginName, "removing temp files: %v", err)
			}
		}()
		if err := build(ctx, scope, a, s.Add); err != nil {
			if ctx.Err() == nil {
				vqlkit.Errorf(scope, pluginName, "%v", err)
			}
			return
		}
		// A failed spill or merge (a full disk, a temp run gone) would
		// otherwise end the timeline short without a word.
		if err := s.Each(func(r *Row) bool { return vqlkit.Send(ctx, out, outRow(r)) }); err != nil && ctx.Err() == nil {
			vqlkit.Errorf(scope, pluginName, "%v", err)
		}
	})
}

// build runs every source and gives add the rows of the table asked for
// (the dated rows in a's date range, or the undated ones), each with its
// sort key.
func build(ctx context.Context, scope vfilter.Scope, a *Args, add func(*Row) error) error {
	b := &builder{ctx: ctx, scope: scope, a: a}
	b.emit = func(r *Row) error {
		if r.Time == nil {
			if !a.Undated {
				return nil
			}
			r.TimeKind = nil // no time, so no kind of time
			r.Key = r.Source + "|" + str(ptr(r.OSPath)) + "|" + r.Summary
			return add(r)
		}
		if a.Undated || (!a.after.IsZero() && r.Time.Before(a.after)) || (!a.before.IsZero() && r.Time.After(a.before)) {
			return nil
		}
		r.Key = timeKey(r)
		return add(r)
	}
	for _, src := range []func() error{b.executions, b.handlers, b.goalStates, b.logs, b.telemetry,
		b.activity, b.eventLogs, b.volume} {
		if err := src(); err != nil {
			return err
		}
	}
	return nil
}

// timeKey orders the timeline: Time, then Started before anything else at
// the same instant and Finished after, then Source, OSPath, TimeKind and
// Summary (the key the VQL timeline sorted by, byte for byte).
func timeKey(r *Row) string {
	rank := "2"
	switch ptr(r.TimeKind) {
	case "Started":
		rank = "1"
	case "Finished":
		rank = "3"
	}
	return fmt.Sprintf("%s|%s|%s|%s|%s|%s", r.Time.UTC().Format("2006-01-02T15:04:05.000000000Z"), rank,
		r.Source, str(ptr(r.OSPath)), str(ptr(r.TimeKind)), r.Summary)
}

// ptr is *p, or nil.
func ptr[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func outRow(r *Row) *ordereddict.Dict {
	var t any
	if r.Time != nil {
		t = *r.Time
	}
	return columns.Row(t, ptr(r.TimeKind), r.Source, ptr(r.Handler), ptr(r.ExtensionName), ptr(r.SeqNo),
		r.Summary, decodeDetail(r.Detail), ptr(r.OSPath), ptr(r.TimeConflict))
}

package mftscan

import (
	"context"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/catalog"
	"github.com/azvql/azvql/plugins/evidence"
	"github.com/azvql/azvql/plugins/extensions"
	"github.com/azvql/azvql/plugins/redact"
	"github.com/azvql/azvql/plugins/usnjrnl"
	"github.com/azvql/azvql/plugins/vqlkit"
	ntfs "www.velocidex.com/golang/go-ntfs/parser"
	"www.velocidex.com/golang/vfilter"
)

// Executions rebuilt from what the MFT still holds of a handler folder,
// deleted or not: the recovered .settings (the command) and .status
// (the outcome), and, when their content is gone, the names alone
// (<seq>.settings, script<seq>.ps1, Downloads\<seq>\...) still say that
// run <seq> existed and when its files were created.

var execColumns = vqlkit.NewColumns("Handler", "HandlerVersion", "ExtensionName", "SeqNo",
	"Command", "CommandField", "Protected", "Status", "StatusCode", "StatusTime", "StatusMessage",
	"SettingsCreated", "StatusModified", "FirstSeen", "LastSeen", "USNCreated", "USNDeleted", "Deleted", "Evidence", "Files")

// runKey names one run: a handler folder and a sequence number (and the
// Run Command name of multi-config handlers).
type runKey struct {
	handler, version, ext string
	seq                   int64
}

type runInfo struct {
	parsed              parsed
	haveCmd, haveStatus bool
	settingsCreated     time.Time
	statusModified      time.Time
	first, last         time.Time
	deleted             bool
	script, scriptName  string    // a recovered script<seq>.ps1, the command when the settings are gone
	usnCreated          time.Time // first FILE_CREATE of the run's files in the USN journal
	usnDeleted          time.Time // last FILE_DELETE
	evidence            map[string]bool
	files               []string
}

// flatScript is a flat-layout script name, script<seq>.<ext>
// (catalog.LayoutFlatScript).
var flatScript = regexp.MustCompile(`(?i)^script(\d+)\.[a-z0-9]+$`)

// runOf says which run an entry belongs to and what kind of evidence it
// is ("" when it belongs to none). The working-folder layout comes from
// the catalogue: <Downloads>\script<seq>.ps1 (flat), <Downloads>\<seq>\
// (seq) or <Downloads>\<name>\<seq>\ (name/seq).
func runOf(e Entry) (runKey, string) {
	handler, version := extensions.HandlerFromPath(e.Path)
	if handler == "" {
		return runKey{}, ""
	}
	k := runKey{handler: handler, version: version}
	if !e.IsDir {
		for _, ext := range []string{".settings", ".status"} {
			if x, seq, ok := extensions.ParseSeqFileName(e.Name, ext); ok {
				k.ext, k.seq = x, seq
				return k, ext[1:]
			}
		}
	}
	h := catalog.Lookup(catalog.Windows, handler)
	if h == nil || h.HandlerDownloadDir == "" {
		return runKey{}, ""
	}
	// The parts after <handler>\<version>\<Downloads>\.
	parts := strings.Split(e.Path, `\`)
	i := 0
	for ; i+2 < len(parts); i++ {
		if strings.EqualFold(parts[i], handler) && parts[i+1] == version && strings.EqualFold(parts[i+2], h.HandlerDownloadDir) {
			break
		}
	}
	rest := parts[min(i+3, len(parts)):]
	if i+2 >= len(parts) || len(rest) == 0 {
		return runKey{}, ""
	}
	seqOf := func(s string) (int64, bool) {
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil && n >= 0
	}
	switch h.Layout {
	case catalog.LayoutFlatScript:
		if m := flatScript.FindStringSubmatch(rest[0]); m != nil && len(rest) == 1 && !e.IsDir {
			if seq, ok := seqOf(m[1]); ok {
				k.seq = seq
				return k, "script"
			}
		}
	case catalog.LayoutSeq:
		if seq, ok := seqOf(rest[0]); ok {
			k.seq = seq
			return k, "downloads"
		}
	case catalog.LayoutNameSeq:
		if len(rest) >= 2 {
			if seq, ok := seqOf(rest[1]); ok {
				k.ext, k.seq = rest[0], seq
				return k, "downloads"
			}
		}
	}
	return runKey{}, ""
}

// ExecutionsPlugin is azure_mft_executions.
type ExecutionsPlugin struct{}

func (ExecutionsPlugin) Columns() []string { return execColumns.Names() }

func (ExecutionsPlugin) Info(scope vfilter.Scope, tm *vfilter.TypeMap) *vfilter.PluginInfo {
	return &vfilter.PluginInfo{
		Name: "azure_mft_executions",
		Doc: "Extension runs rebuilt from an NTFS volume's MFT, also after the handler folder was deleted: one row per " +
			"handler folder and sequence number found in recovered .settings/.status names or content, script<seq>.ps1 " +
			"and Downloads\\<seq>\\ entries. Command and Status come from the recovered content (NULL when it is gone); " +
			"Evidence lists the kinds of entries found (usn: named in the USN journal, also after the MFT record was reused; " +
			"USNCreated/USNDeleted: its first FILE_CREATE and last FILE_DELETE), Files their paths, Deleted whether none is in use.",
		ArgType: tm.AddType(scope, &entriesArgs{}),
		Version: 1,
	}
}

func (ExecutionsPlugin) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) <-chan vfilter.Row {
	const name = "azure_mft_executions"
	a := &entriesArgs{}
	return vqlkit.Run(ctx, scope, args, name, a, func(out chan vfilter.Row) {
		vol, closeVol, err := openVolume(scope, a)
		if err != nil {
			vqlkit.Errorf(scope, name, "%v", err)
			return
		}
		defer closeVol()
		red := vqlkit.Redact(args, a.Redact)
		runs := map[runKey]*runInfo{}
		err = Scan(ctx, vol.NTFSContext(), []string{catalog.WindowsPluginsDir}, func(e Entry) error {
			k, kind := runOf(e)
			if kind == "" {
				return nil
			}
			r := runs[k]
			if r == nil {
				r = &runInfo{evidence: map[string]bool{}, deleted: true}
				runs[k] = r
			}
			r.add(e, kind, red)
			return nil
		}, func(p Problem) { vqlkit.Warnf(scope, name, "%s: %v", volumeName(vol, a), p) })
		if err != nil && err != context.Canceled {
			vqlkit.Errorf(scope, name, "%v", err)
		}
		// The journal names files whose MFT records were reused since:
		// runs known from it alone, and when each was created and deleted.
		// A volume without one is said by azure_usn_entries.
		if v := vol.NTFSContext(); ctx.Err() == nil {
			if stream, err := openJournal(v); err == nil {
				usnRuns(ctx, v, stream, runs, func(p string) { vqlkit.Warnf(scope, name, "%s: %s", volumeName(vol, a), p) })
			}
		}
		for _, k := range sortedKeys(runs) {
			if !vqlkit.Send(ctx, out, runs[k].row(k)) {
				return
			}
		}
	})
}

func (r *runInfo) add(e Entry, kind string, red bool) {
	r.evidence[kind] = true
	r.files = append(r.files, e.Path)
	if e.InUse {
		r.deleted = false
	}
	for _, t := range []time.Time{e.SICreated, e.SIModified} {
		if t.IsZero() {
			continue
		}
		if r.first.IsZero() || t.Before(r.first) {
			r.first = t
		}
		if t.After(r.last) {
			r.last = t
		}
	}
	p := parseRecovered(e, red)
	switch kind {
	case "settings":
		r.settingsCreated = e.SICreated
		if p.command != nil || p.field != nil || p.protected != nil {
			r.parsed.command, r.parsed.field, r.parsed.protected = p.command, p.field, p.protected
			r.haveCmd = true
		}
	case "script":
		if e.ContentSource != "" && !e.ContentZeros && int64(len(e.Content)) >= e.Size {
			text, _ := evidence.DecodeText(e.Content)
			r.script, r.scriptName = string(text), e.Name
			if red {
				r.script = redact.String(r.script)
			}
		}
	case "status":
		r.statusModified = e.SIModified
		if p.state != nil || p.code != nil {
			r.parsed.state, r.parsed.code, r.parsed.time, r.parsed.message = p.state, p.code, p.time, p.message
			r.haveStatus = true
		}
	}
}

func (r *runInfo) row(k runKey) *ordereddict.Dict {
	var kinds []string
	for kind := range r.evidence {
		kinds = append(kinds, kind)
	}
	sort.Strings(kinds)
	sort.Strings(r.files)
	p := r.parsed
	if p.command == nil && r.script != "" {
		p.command, p.field = r.script, "script file "+r.scriptName
	}
	return execColumns.Row(k.handler, vqlkit.Str(k.version), vqlkit.Str(k.ext), k.seq,
		p.command, p.field, p.protected, p.state, p.code, p.time, p.message,
		vqlkit.Time(r.settingsCreated), vqlkit.Time(r.statusModified), vqlkit.Time(r.first), vqlkit.Time(r.last),
		vqlkit.Time(r.usnCreated), vqlkit.Time(r.usnDeleted), r.deleted, strings.Join(kinds, ","), r.files)
}

func sortedKeys(runs map[runKey]*runInfo) []runKey {
	keys := make([]runKey, 0, len(runs))
	for k := range runs {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.handler != b.handler {
			return a.handler < b.handler
		}
		if a.version != b.version {
			return a.version < b.version
		}
		if a.ext != b.ext {
			return a.ext < b.ext
		}
		return a.seq < b.seq
	})
	return keys
}

// usnRuns adds to runs what the USN journal says of the files under the
// handler folders.
func usnRuns(ctx context.Context, v *ntfs.NTFSContext, stream ntfs.RangeReaderAt, runs map[runKey]*runInfo, warn func(string)) {
	n, err := RecordCount(v)
	if err != nil {
		warn(err.Error())
		return
	}
	nodes, err := buildNodes(ctx, v, n, func(Problem) {}) // reported by the MFT scan
	if err != nil {
		return
	}
	prefixes := normPrefixes([]string{catalog.WindowsPluginsDir})
	for _, rng := range stream.Ranges() {
		if rng.IsSparse {
			continue
		}
		usnjrnl.Parse(stream, rng.Offset, rng.Offset+rng.Length, func(rec usnjrnl.Record) error {
			path, complete, _ := pathUnder(nodes, rec.ParentID, rec.ParentSeq, rec.Name)
			if matches(path, complete, prefixes) {
				addUSN(runs, rec, path)
			}
			return ctx.Err()
		}, func(p usnjrnl.Problem) { warn(p.Error()) })
	}
}

// addUSN files one journal record under the run its path names.
func addUSN(runs map[runKey]*runInfo, rec usnjrnl.Record, path string) {
	const dirAttr = 0x10 // FILE_ATTRIBUTE_DIRECTORY
	k, kind := runOf(Entry{Name: rec.Name, Path: path, IsDir: rec.Attrs&dirAttr != 0})
	if kind == "" {
		return
	}
	r := runs[k]
	if r == nil {
		r = &runInfo{evidence: map[string]bool{}, deleted: true}
		runs[k] = r
	}
	r.evidence["usn"] = true
	t := rec.Time
	if r.first.IsZero() || t.Before(r.first) {
		r.first = t
	}
	if t.After(r.last) {
		r.last = t
	}
	if rec.Has("FILE_CREATE") && (r.usnCreated.IsZero() || t.Before(r.usnCreated)) {
		r.usnCreated = t
	}
	if rec.Has("FILE_DELETE") && t.After(r.usnDeleted) {
		r.usnDeleted = t
	}
	for _, f := range r.files {
		if f == path {
			return
		}
	}
	r.files = append(r.files, path)
}

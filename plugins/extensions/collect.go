package extensions

import (
	"context"
	"sort"
	"strconv"
	"time"

	"github.com/azvql/azvql/plugins/catalog"
	"github.com/azvql/azvql/plugins/evidence"
	"github.com/azvql/azvql/plugins/protected"
)

type execKey struct {
	Handler string
	ExtName string
	Seq     int64
}

type partRef struct {
	OSPath  string
	Version string
	Size    int64
	Mtime   time.Time
	IsLink  bool
}

type execParts struct {
	kind       *catalog.Handler
	settings   *partRef
	status     *partRef
	rootStatus *partRef // RC v2 Linux: /<name>.<seq>.status
	workDir    string   // OSPath of the working folder
	altDirs    []string // other working folders of the same run (RC v2 immediateDownload)
	runAs      []runAsRef
	// LayoutFlatScript: Downloads\script<seq>.ps1 and the files the
	// runs left in Downloads (given to a run by mtime).
	flatScript *evidence.Entry
	flatFiles  []evidence.Entry
	// <seq>.status<digits>: temp files of the Go atomic status write
	// left by a crash between write and rename
	leftovers []string
	version   string
	// dirVersion: the handler version whose folder holds the working
	// folder (OSTC CSE v1, Windows), when nothing else names one
	dirVersion string
}

// runAsRef is an RC v2 runAsUser copy of a run's working folder.
type runAsRef struct {
	User string
	Dir  string
}

// execCollector gathers, from every source, the executions a tree holds:
// only names and paths are kept in memory; contents are read row by row.
type execCollector struct {
	dec    *protected.Decryptor
	r      *evidence.Root
	logf   func(string, ...any)
	parts  map[execKey]*execParts
	states map[string]*handlerState // by handler (+ "\x00<ext>" for multi-config)
	// handler folders per handler, oldest version first (multi-config
	// state files are read per name)
	hdirs map[string][]string
	// flat-layout files not yet given to a run, per handler
	flatPool map[string][]evidence.Entry
	goal     map[string]*goalRef
	// uniform: the one instant every settings/status file of the tree
	// has (copied or extracted without times); zero otherwise
	uniform time.Time
}

func (c *execCollector) get(k execKey, kind *catalog.Handler) *execParts {
	p := c.parts[k]
	if p == nil {
		p = &execParts{kind: kind}
		c.parts[k] = p
	}
	return p
}

func (c *execCollector) listSeqFiles(dir, ext string, fn func(extName string, seq int64, e evidence.Entry)) {
	list, err := c.r.ReadDir(dir)
	if err != nil {
		if !evidence.IsNotExist(err) {
			c.logf("%s: %v", dir, err)
		}
		return
	}
	for _, e := range list {
		if e.IsDir {
			if _, _, ok := ParseSeqFileName(e.Name, ext); ok {
				c.r.Report(evidence.CheckFile(e)) // a folder named like a settings file
			}
			continue
		}
		if n, seq, ok := ParseSeqFileName(e.Name, ext); ok {
			fn(n, seq, e)
		}
	}
}

// readDirQuiet lists a folder; absence (or a path of the other OS) is
// not worth a log line.
func (c *execCollector) readDirQuiet(dir string) []evidence.Entry {
	list, err := c.r.ReadDir(dir)
	if err != nil {
		if !evidence.IsNotExist(err) && !isWrongOS(err) {
			c.logf("%s: %v", dir, err)
		}
		return nil
	}
	return list
}

func parseSeqDir(e evidence.Entry) (int64, bool) {
	if !e.IsDir || e.IsLink {
		return 0, false
	}
	if e.Name == "" || len(e.Name) > 18 {
		return 0, false
	}
	for _, ch := range e.Name {
		if ch < '0' || ch > '9' {
			return 0, false
		}
	}
	seq, err := strconv.ParseInt(e.Name, 10, 64)
	return seq, err == nil
}

// collectWorkDirs finds the working folders below dir in the kind's
// layout.
func (c *execCollector) collectWorkDirs(kind *catalog.Handler, dir, version string) {
	set := func(p *execParts, d string) {
		c.setWorkDir(p, d)
		if p.dirVersion == "" {
			p.dirVersion = version
		}
	}
	switch kind.Layout {
	case catalog.LayoutSeq:
		for _, e := range c.readDirQuiet(dir) {
			if seq, ok := parseSeqDir(e); ok {
				set(c.get(execKey{kind.Name, "", seq}, kind), e.OSPath)
			} else if e.IsLink {
				c.r.Report(evidence.CheckFile(e)) // a working folder that is a link: not followed
			}
		}
	case catalog.LayoutNameSeq:
		for _, n := range c.readDirQuiet(dir) {
			if n.IsLink {
				c.r.Report(evidence.CheckFile(n))
			}
			if !n.IsDir || n.IsLink {
				continue
			}
			for _, e := range c.readDirQuiet(n.OSPath) {
				if seq, ok := parseSeqDir(e); ok {
					set(c.get(execKey{kind.Name, n.Name, seq}, kind), e.OSPath)
				} else if e.IsLink {
					c.r.Report(evidence.CheckFile(e))
				}
			}
		}
	}
}

// setWorkDir: the first folder found is the run's working folder (the
// regular download folder is listed before immediateDownload, and a newer
// handler version's before an older one's); others are RelatedPaths.
func (c *execCollector) setWorkDir(p *execParts, dir string) {
	if p.workDir == "" {
		p.workDir = dir
		return
	}
	if p.workDir != dir {
		p.altDirs = append(p.altDirs, dir)
	}
}

// collectKind gathers the executions of one handler kind: its handler
// folders (oldest version first, so the newest version's copy of a file
// wins), their working folders, its download folders, runAsUser copies
// and root placeholders. handlers is ListHandlers' list (every kind).
// Kinds never share an execution (execKey.Handler is the kind's name), so
// a collector per kind finds the same executions as one for the tree.
func (c *execCollector) collectKind(ctx context.Context, kind *catalog.Handler, handlers []HandlerDir) {
	var mine []HandlerDir
	for _, h := range handlers {
		if catalog.Lookup(h.OS, h.Handler) == kind {
			mine = append(mine, h)
		}
	}
	for _, h := range mine {
		if ctx.Err() != nil {
			return
		}
		h := h
		c.hdirs[kind.Name] = append(c.hdirs[kind.Name], h.OSPath)
		c.listSeqFiles(h.ConfigDir, ".settings", func(n string, seq int64, e evidence.Entry) {
			p := c.get(execKey{kind.Name, n, seq}, kind)
			if p.settings != nil && p.settings.OSPath != e.OSPath { // folders whose names differ only in case
				c.logf("%s and %s: two settings files for one execution (folders named alike but for case); this row reads the second", p.settings.OSPath, e.OSPath)
			}
			p.settings = &partRef{OSPath: e.OSPath, Version: h.Version, Size: e.Size, Mtime: e.Mtime, IsLink: e.IsLink}
			p.version = h.Version
		})
		c.listStatus(h.StatusDir, func(n string, seq int64, e evidence.Entry, temp bool) {
			p := c.get(execKey{kind.Name, n, seq}, kind)
			if temp {
				p.leftovers = append(p.leftovers, e.OSPath)
				return
			}
			if p.status != nil && p.status.OSPath != e.OSPath {
				c.logf("%s and %s: two status files for one execution (folders named alike but for case); this row reads the second", p.status.OSPath, e.OSPath)
			}
			p.status = &partRef{OSPath: e.OSPath, Version: h.Version, Size: e.Size, Mtime: e.Mtime, IsLink: e.IsLink}
		})
		if !kind.MultiConfig {
			st := readHandlerState(c.r, h.OSPath, "", c.logf)
			if prev := c.states[kind.Name]; prev == nil || st.Mrseq != nil || st.PidExists {
				c.states[kind.Name] = &st
			}
		}
	}
	// Working folders inside handler folders: newest version first, so
	// its folder is the run's and older copies are RelatedPaths.
	if kind.HandlerDownloadDir != "" {
		for i := len(mine) - 1; i >= 0; i-- {
			h := mine[i]
			dir := evidence.JoinOSPath(h.OSPath, kind.HandlerDownloadDir)
			if kind.Layout == catalog.LayoutFlatScript {
				c.collectFlat(kind, dir, h.Version)
				continue
			}
			c.collectWorkDirs(kind, dir, h.Version)
		}
	}
	if ctx.Err() != nil {
		return
	}
	for _, d := range kind.DownloadDirs {
		c.collectWorkDirs(kind, d, "")
	}
	for _, g := range kind.RunAsDirs {
		c.collectRunAs(kind, g)
	}
	if kind.RootPlaceholders {
		c.collectRootPlaceholders(kind)
	}
	c.attributeFlat()
}

// kindsInOrder are the catalog's handler kinds in the order of their
// names: the order the walk emits them (rows are sorted by Handler, then
// ExtensionName, then SeqNo).
func kindsInOrder() []*catalog.Handler {
	kinds := make([]*catalog.Handler, len(catalog.Handlers))
	for i := range catalog.Handlers {
		kinds[i] = &catalog.Handlers[i]
	}
	sort.Slice(kinds, func(i, j int) bool { return kinds[i].Name < kinds[j].Name })
	return kinds
}

// collectFlat reads a flat Downloads folder: script<seq>.ps1 files name
// their run; everything else waits in flatPool for attributeFlat.
func (c *execCollector) collectFlat(kind *catalog.Handler, dir, version string) {
	list := c.readDirQuiet(dir)
	for i := range list {
		e := list[i]
		if m := windowsFlatScript.FindStringSubmatch(e.Name); m != nil && !e.IsDir && !e.IsLink {
			seq, err := strconv.ParseInt(m[1], 10, 64)
			if err == nil {
				p := c.get(execKey{kind.Name, "", seq}, kind)
				if p.flatScript == nil {
					p.flatScript = &e
					c.setWorkDir(p, dir)
					p.dirVersion = version
				}
				continue
			}
		}
		c.flatPool[kind.Name] = append(c.flatPool[kind.Name], e)
	}
}

// attributeFlat gives every other file of a flat Downloads folder to the
// run whose script<seq>.ps1 was written last at or before the file's
// mtime (the runs share the folder as their working directory); files
// older than every script go to the earliest run, and with no script at
// all to the highest sequence of that handler.
func (c *execCollector) attributeFlat() {
	for handler, pool := range c.flatPool {
		type sc struct {
			seq int64
			t   time.Time
		}
		var scripts []sc
		var maxSeq int64 = -1
		var anyKey *execParts
		for k, p := range c.parts {
			if k.Handler != handler {
				continue
			}
			if p.flatScript != nil {
				scripts = append(scripts, sc{k.Seq, p.flatScript.Mtime})
			}
			if k.Seq > maxSeq {
				maxSeq, anyKey = k.Seq, p
			}
		}
		if anyKey == nil {
			continue
		}
		sort.Slice(scripts, func(i, j int) bool {
			if !scripts[i].t.Equal(scripts[j].t) {
				return scripts[i].t.Before(scripts[j].t)
			}
			return scripts[i].seq < scripts[j].seq
		})
		for _, e := range pool {
			target := anyKey
			if len(scripts) > 0 {
				// the last script written at or before the file
				i := sort.Search(len(scripts), func(i int) bool { return scripts[i].t.After(e.Mtime) })
				if i > 0 {
					i--
				}
				target = c.parts[execKey{handler, "", scripts[i].seq}]
			}
			target.flatFiles = append(target.flatFiles, e)
			if target.workDir == "" {
				target.workDir = evidence.ParseEvPath(e.OSPath).Dir().String()
			}
		}
	}
}

// collectRunAs finds RC v2 runAsUser copies: <glob>/<name>/<seq>/.
func (c *execCollector) collectRunAs(kind *catalog.Handler, glob string) {
	dirs, err := c.r.Glob(glob)
	if err != nil {
		return
	}
	for _, d := range dirs {
		if !d.IsDir || d.IsLink {
			continue
		}
		user := ""
		if parts := evidence.ParseEvPath(d.OSPath).Parts; len(parts) > 1 {
			user = parts[1] // /home/<user>/...
		}
		for _, n := range c.readDirQuiet(d.OSPath) {
			if !n.IsDir || n.IsLink {
				continue
			}
			for _, e := range c.readDirQuiet(n.OSPath) {
				if seq, ok := parseSeqDir(e); ok {
					p := c.get(execKey{kind.Name, n.Name, seq}, kind)
					p.runAs = append(p.runAs, runAsRef{User: user, Dir: e.OSPath})
				}
			}
		}
	}
}

// collectRootPlaceholders finds /<name>.<seq>.status placeholders, only
// on a root that holds a Linux agent tree.
func (c *execCollector) collectRootPlaceholders(kind *catalog.Handler) {
	if !c.r.Exists(LinuxLibDir) {
		return
	}
	for _, e := range c.readDirQuiet("/") {
		if e.IsDir {
			continue
		}
		if n, seq, ok := ParseSeqFileName(e.Name, ".status"); ok && n != "" {
			p := c.get(execKey{kind.Name, n, seq}, kind)
			p.rootStatus = &partRef{OSPath: e.OSPath, Size: e.Size, Mtime: e.Mtime, IsLink: e.IsLink}
		}
	}
}

// stateFor returns the mrseq/pidstart state of a run's handler
// (multi-config: of its name, read from the newest handler folder that
// has one).
func (c *execCollector) stateFor(k execKey, kind *catalog.Handler) *handlerState {
	if !kind.MultiConfig {
		return c.states[k.Handler]
	}
	key := k.Handler + "\x00" + k.ExtName
	if st, ok := c.states[key]; ok {
		return st
	}
	var best *handlerState
	for _, dir := range c.hdirs[k.Handler] {
		st := readHandlerState(c.r, dir, k.ExtName+".", c.logf)
		if best == nil || st.Mrseq != nil || st.PidExists {
			best = &st
		}
	}
	c.states[key] = best
	return best
}

// listStatus finds "<seq>.status" files and "<seq>.status<digits>"
// temp files (ParseStatusTempName) in one listing.
func (c *execCollector) listStatus(dir string, fn func(extName string, seq int64, e evidence.Entry, temp bool)) {
	list, err := c.r.ReadDir(dir)
	if err != nil {
		if !evidence.IsNotExist(err) {
			c.logf("%s: %v", dir, err)
		}
		return
	}
	for _, e := range list {
		if e.IsDir {
			continue
		}
		if n, seq, ok := ParseSeqFileName(e.Name, ".status"); ok {
			fn(n, seq, e, false)
		} else if n, seq, ok := ParseStatusTempName(e.Name); ok {
			fn(n, seq, e, true)
		}
	}
}

func (c *execCollector) sortedKeys() []execKey {
	keys := make([]execKey, 0, len(c.parts))
	for k := range c.parts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.Handler != b.Handler {
			return a.Handler < b.Handler
		}
		if a.ExtName != b.ExtName {
			return a.ExtName < b.ExtName
		}
		return a.Seq < b.Seq
	})
	return keys
}

package extensions

import (
	"context"
	"sort"
	"strconv"
	"strings"
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

// execCollector gathers, from every source, the executions a tree holds.
// The index holds, per execution, a slot: its name and sequence number,
// the folders (by number) that hold its settings, status and working
// folder, and what the listing said of the two files; paths are built
// when the execution is emitted (partsOf), and contents are read then.
// What few runs have (leftover temp files, other working folders,
// runAsUser copies, odd file names) hangs off the slot (rare).
type execCollector struct {
	dec  *protected.Decryptor
	r    *evidence.Root
	logf func(string, ...any)

	slots []slot
	index map[slotKey]int32 // while collecting; nil once sorted
	names []string          // ExtName by number (0 is "")
	nameN map[string]int32
	dirs  []dirRef // folders by number (slots hold 1 + the index)
	dirN  map[dirRef]int32

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

func newExecCollector(r *evidence.Root, dec *protected.Decryptor, logf func(string, ...any)) *execCollector {
	return &execCollector{r: r, logf: logf, dec: dec, index: map[slotKey]int32{},
		names: []string{""}, nameN: map[string]int32{"": 0}, dirN: map[dirRef]int32{},
		states: map[string]*handlerState{}, hdirs: map[string][]string{}, flatPool: map[string][]evidence.Entry{}}
}

type slotKey struct {
	name int32
	seq  int64
}

// dirRef is a folder of the index: its evidence path (as a listing
// writes it) and the handler version it belongs to ("" outside a
// handler folder).
type dirRef struct {
	path, version string
}

// fileRef is a settings or status file in a slot: the folder holding it
// (1 + index into dirs, negative for a symlink; 0: none) and its
// listing's size and mtime (seconds and nanoseconds, nsec -1 for no
// time: 24 bytes where an Entry's time.Time alone is 24). Its name is
// the run's canonical one ([<name>.]<seq><ext>) unless the slot's rare
// parts hold its path.
type fileRef struct {
	dir  int32
	nsec int32
	sec  int64
	size int64
}

func newFileRef(dir int32, e evidence.Entry) fileRef {
	f := fileRef{dir: dir, size: e.Size, nsec: -1}
	if e.IsLink {
		f.dir = -dir
	}
	if !e.Mtime.IsZero() {
		f.sec, f.nsec = e.Mtime.Unix(), int32(e.Mtime.Nanosecond())
	}
	return f
}

func (f fileRef) folder() int32 {
	if f.dir < 0 {
		return -f.dir
	}
	return f.dir
}

func (f fileRef) mtime() time.Time {
	if f.nsec < 0 {
		return time.Time{}
	}
	return time.Unix(f.sec, int64(f.nsec)).UTC()
}

type slot struct {
	seq  int64
	name int32
	// work: the folder holding the working folder <seq> (1 + index into
	// dirs; 0: none, or rare.workDir when named otherwise); verDir: the
	// first folder with a handler version that held one (dirVersion)
	work, verDir     int32
	settings, status fileRef
	rare             *execParts
}

// dir numbers a folder of the index.
func (c *execCollector) dir(path, version string) int32 {
	d := dirRef{evidence.ParseEvPath(path).String(), version}
	if i, ok := c.dirN[d]; ok {
		return i + 1
	}
	c.dirs = append(c.dirs, d)
	c.dirN[d] = int32(len(c.dirs) - 1)
	return int32(len(c.dirs))
}

// get returns the slot of an execution, adding it when new. The pointer
// is valid until the next get.
func (c *execCollector) get(extName string, seq int64) *slot {
	n, ok := c.nameN[extName]
	if !ok {
		c.names = append(c.names, extName)
		n = int32(len(c.names) - 1)
		c.nameN[extName] = n
	}
	k := slotKey{n, seq}
	i, ok := c.index[k]
	if !ok {
		c.slots = append(c.slots, slot{seq: seq, name: n})
		i = int32(len(c.slots) - 1)
		c.index[k] = i
	}
	return &c.slots[i]
}

// reserve sizes the index for the first listing of n files: the usual
// tree has one settings file per execution, so the index is allocated
// once at its size instead of doubling.
func (c *execCollector) reserve(n int) {
	if len(c.slots) == 0 && n > cap(c.slots) {
		c.index = make(map[slotKey]int32, n)
		c.slots = make([]slot, 0, n)
	}
}

func (s *slot) rareParts() *execParts {
	if s.rare == nil {
		s.rare = &execParts{}
	}
	return s.rare
}

// joinName is evidence.JoinOSPath(dir, name) for a dir already in
// OSPath form, without parsing it again for the plain names of a walk.
func joinName(dir, name string) string {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\`) {
		return evidence.JoinOSPath(dir, name)
	}
	sep := "/"
	if len(dir) >= 2 && dir[1] == ':' || strings.Contains(dir, `\`) {
		sep = `\`
	}
	if strings.HasSuffix(dir, sep) {
		return dir + name
	}
	return dir + sep + name
}

// seqFileName is the name a handler gives a run's file: [<name>.]<seq><ext>.
func seqFileName(extName string, seq int64, ext string) string {
	s := strconv.FormatInt(seq, 10) + ext
	if extName != "" {
		return extName + "." + s
	}
	return s
}

// filePath is the OSPath of a slot's settings or status file (rare
// holds it when its name is not the canonical one).
func (c *execCollector) filePath(s *slot, f fileRef, rare *partRef, ext string) string {
	if rare != nil {
		return rare.OSPath
	}
	return joinName(c.dirs[f.folder()-1].path, seqFileName(c.names[s.name], s.seq, ext))
}

func (c *execCollector) partRef(s *slot, f fileRef, rare *partRef, ext string) *partRef {
	if f.dir == 0 {
		return nil
	}
	return &partRef{OSPath: c.filePath(s, f, rare, ext), Version: c.dirs[f.folder()-1].version, Size: f.size, Mtime: f.mtime(), IsLink: f.dir < 0}
}

// workPath is the OSPath of a slot's working folder ("" for none).
func (c *execCollector) workPath(s *slot) string {
	if s.rare != nil && s.rare.workDir != "" {
		return s.rare.workDir
	}
	if s.work == 0 {
		return ""
	}
	return joinName(c.dirs[s.work-1].path, strconv.FormatInt(s.seq, 10))
}

// partsOf builds an execution's parts from its slot, for the join.
func (c *execCollector) partsOf(s *slot, kind *catalog.Handler) *execParts {
	p := &execParts{}
	var rs, rt *partRef
	if s.rare != nil {
		*p = *s.rare
		rs, rt = s.rare.settings, s.rare.status
	}
	p.kind = kind
	p.settings = c.partRef(s, s.settings, rs, ".settings")
	p.status = c.partRef(s, s.status, rt, ".status")
	if p.settings != nil {
		p.version = p.settings.Version
	}
	p.workDir = c.workPath(s)
	if p.dirVersion == "" && s.verDir != 0 {
		p.dirVersion = c.dirs[s.verDir-1].version
	}
	return p
}

func (c *execCollector) listSeqFiles(dir, ext string, fn func(extName string, seq int64, e evidence.Entry)) {
	l, err := c.r.List(dir)
	if err != nil {
		if !evidence.IsNotExist(err) {
			c.logf("%s: %v", dir, err)
		}
		return
	}
	c.reserve(l.Len())
	for i := 0; i < l.Len(); i++ {
		n, seq, ok := ParseSeqFileName(l.Name(i), ext)
		if l.IsDir(i) {
			if ok {
				c.r.Report(evidence.CheckFile(l.Entry(i))) // a folder named like a settings file
			}
			continue
		}
		if ok {
			fn(n, seq, l.Entry(i))
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

// listQuiet is readDirQuiet's names-only listing (nil when absent).
func (c *execCollector) listQuiet(dir string) *evidence.Listing {
	l, err := c.r.List(dir)
	if err != nil {
		if !evidence.IsNotExist(err) && !isWrongOS(err) {
			c.logf("%s: %v", dir, err)
		}
		return nil
	}
	return l
}

func parseSeqDir(e evidence.Entry) (int64, bool) {
	return parseSeqDirName(e.Name, e.IsDir, e.IsLink)
}

func parseSeqDirName(name string, isDir, isLink bool) (int64, bool) {
	if !isDir || isLink {
		return 0, false
	}
	if name == "" || len(name) > 18 {
		return 0, false
	}
	for _, ch := range name {
		if ch < '0' || ch > '9' {
			return 0, false
		}
	}
	seq, err := strconv.ParseInt(name, 10, 64)
	return seq, err == nil
}

// collectWorkDirs finds the working folders below dir in the kind's
// layout.
func (c *execCollector) collectWorkDirs(kind *catalog.Handler, dir, version string) {
	seqDirs := func(parent string, l *evidence.Listing, extName string) {
		var d int32
		for i := 0; i < l.Len(); i++ {
			if seq, ok := parseSeqDirName(l.Name(i), l.IsDir(i), l.IsLink(i)); ok {
				if d == 0 {
					d = c.dir(parent, version)
				}
				c.setWorkDir(c.get(extName, seq), d, l.Name(i), l.OSPath(i), version)
			} else if l.IsLink(i) {
				c.r.Report(evidence.CheckFile(l.Entry(i))) // a working folder that is a link: not followed
			}
		}
	}
	switch kind.Layout {
	case catalog.LayoutSeq:
		if l := c.listQuiet(dir); l != nil {
			seqDirs(dir, l, "")
		}
	case catalog.LayoutNameSeq:
		l := c.listQuiet(dir)
		if l == nil {
			return
		}
		for i := 0; i < l.Len(); i++ {
			if l.IsLink(i) {
				c.r.Report(evidence.CheckFile(l.Entry(i)))
			}
			if !l.IsDir(i) || l.IsLink(i) {
				continue
			}
			nd := l.OSPath(i)
			if sub := c.listQuiet(nd); sub != nil {
				seqDirs(nd, sub, l.Name(i))
			}
		}
	}
}

// setWorkDir: the first folder found is the run's working folder (the
// regular download folder is listed before immediateDownload, and a newer
// handler version's before an older one's); others are RelatedPaths.
// dirVersion is the first handler version met.
func (c *execCollector) setWorkDir(s *slot, d int32, name, osPath, version string) {
	if s.verDir == 0 && version != "" {
		s.verDir = d
	}
	cur := c.workPath(s)
	if cur == "" {
		if name == strconv.FormatInt(s.seq, 10) {
			s.work = d
		} else {
			s.rareParts().workDir = osPath // 007/ for run 7
		}
		return
	}
	if cur != osPath {
		r := s.rareParts()
		r.altDirs = append(r.altDirs, osPath)
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
		var cd, sd int32
		c.listSeqFiles(h.ConfigDir, ".settings", func(n string, seq int64, e evidence.Entry) {
			if cd == 0 {
				cd = c.dir(h.ConfigDir, h.Version)
			}
			c.addFile(c.get(n, seq), false, cd, n, e)
		})
		c.listStatus(h.StatusDir, func(n string, seq int64, e evidence.Entry, temp bool) {
			if sd == 0 {
				sd = c.dir(h.StatusDir, h.Version)
			}
			s := c.get(n, seq)
			if temp {
				r := s.rareParts()
				r.leftovers = append(r.leftovers, e.OSPath)
				return
			}
			c.addFile(s, true, sd, n, e)
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
		c.collectRunAs(g)
	}
	if kind.RootPlaceholders {
		c.collectRootPlaceholders()
	}
	c.attributeFlat()
}

// addFile records e, in folder d, as the run's settings file (status:
// its status file). Folders are read oldest version first, so the later
// file wins; two files for one run (folders or names alike but for case,
// leading zeros) are reported. A name other than the run's canonical one
// is kept in rare.
func (c *execCollector) addFile(s *slot, status bool, d int32, extName string, e evidence.Entry) {
	ext, what, ref := ".settings", "settings", &s.settings
	if status {
		ext, what, ref = ".status", "status", &s.status
	}
	named := func(r *execParts) **partRef {
		if status {
			return &r.status
		}
		return &r.settings
	}
	var prev *partRef
	if s.rare != nil {
		prev = *named(s.rare)
	}
	if ref.dir != 0 {
		if old := c.filePath(s, *ref, prev, ext); old != e.OSPath {
			c.logf("%s and %s: two %s files for one execution (folders named alike but for case); this row reads the second", old, e.OSPath, what)
		}
	}
	*ref = newFileRef(d, e)
	if e.Name != seqFileName(extName, s.seq, ext) {
		*named(s.rareParts()) = &partRef{OSPath: e.OSPath}
	} else if prev != nil {
		*named(s.rare) = nil
	}
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
				s := c.get("", seq)
				if p := s.rareParts(); p.flatScript == nil {
					p.flatScript = &e
					if p.workDir == "" {
						p.workDir = dir
					} else if p.workDir != dir {
						p.altDirs = append(p.altDirs, dir)
					}
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
// all to the highest sequence of that handler. (A collector holds one
// kind: every slot is of that handler.)
func (c *execCollector) attributeFlat() {
	for _, pool := range c.flatPool {
		type sc struct {
			seq  int64
			t    time.Time
			slot int
		}
		var scripts []sc
		var maxSeq int64 = -1
		anyKey := -1
		for i := range c.slots {
			s := &c.slots[i]
			if s.rare != nil && s.rare.flatScript != nil {
				scripts = append(scripts, sc{s.seq, s.rare.flatScript.Mtime, i})
			}
			if s.seq > maxSeq {
				maxSeq, anyKey = s.seq, i
			}
		}
		if anyKey < 0 {
			continue
		}
		sort.Slice(scripts, func(i, j int) bool {
			if !scripts[i].t.Equal(scripts[j].t) {
				return scripts[i].t.Before(scripts[j].t)
			}
			return scripts[i].seq < scripts[j].seq
		})
		for _, e := range pool {
			target := &c.slots[anyKey]
			if len(scripts) > 0 {
				// the last script written at or before the file
				i := sort.Search(len(scripts), func(i int) bool { return scripts[i].t.After(e.Mtime) })
				if i > 0 {
					i--
				}
				target = &c.slots[scripts[i].slot]
			}
			p := target.rareParts()
			p.flatFiles = append(p.flatFiles, e)
			if c.workPath(target) == "" {
				p.workDir = evidence.ParseEvPath(e.OSPath).Dir().String()
			}
		}
	}
}

// collectRunAs finds RC v2 runAsUser copies: <glob>/<name>/<seq>/.
func (c *execCollector) collectRunAs(glob string) {
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
					p := c.get(n.Name, seq).rareParts()
					p.runAs = append(p.runAs, runAsRef{User: user, Dir: e.OSPath})
				}
			}
		}
	}
}

// collectRootPlaceholders finds /<name>.<seq>.status placeholders, only
// on a root that holds a Linux agent tree.
func (c *execCollector) collectRootPlaceholders() {
	if !c.r.Exists(LinuxLibDir) {
		return
	}
	for _, e := range c.readDirQuiet("/") {
		if e.IsDir {
			continue
		}
		if n, seq, ok := ParseSeqFileName(e.Name, ".status"); ok && n != "" {
			p := c.get(n, seq).rareParts()
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
	l, err := c.r.List(dir)
	if err != nil {
		if !evidence.IsNotExist(err) {
			c.logf("%s: %v", dir, err)
		}
		return
	}
	for i := 0; i < l.Len(); i++ {
		if l.IsDir(i) {
			continue
		}
		if n, seq, ok := ParseSeqFileName(l.Name(i), ".status"); ok {
			fn(n, seq, l.Entry(i), false)
		} else if n, seq, ok := ParseStatusTempName(l.Name(i)); ok {
			fn(n, seq, l.Entry(i), true)
		}
	}
}

// sortSlots puts the slots in emission order (ExtensionName, SeqNo) and
// drops the lookup index, which emission does not need.
func (c *execCollector) sortSlots() {
	c.index, c.nameN, c.dirN = nil, nil, nil
	sort.Slice(c.slots, func(i, j int) bool {
		a, b := &c.slots[i], &c.slots[j]
		if a.name != b.name {
			if na, nb := c.names[a.name], c.names[b.name]; na != nb {
				return na < nb
			}
		}
		return a.seq < b.seq
	})
}

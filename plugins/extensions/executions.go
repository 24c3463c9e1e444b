package extensions

import (
	"context"
	"io/fs"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/evidence"
	"github.com/azvql/azvql/plugins/protected"
	"github.com/azvql/azvql/plugins/vqlkit"
	"www.velocidex.com/golang/vfilter"
)

// Caps of the executions join (documented in docs/plugins-extensions.md).
const (
	MaxOutputBytes  = 64 << 10  // StdOut/StdErr: the first 64 KiB of download/<seq>/stdout|stderr
	MaxScriptRead   = 64 << 10  // Command from script.sh: its first 64 KiB
	MaxHashBytes    = 256 << 20 // files larger than this are not hashed (SHA256 NULL)
	MaxWorkDirFiles = 1000      // Files entries per working folder
	MaxWorkDirDepth = 8         // folder levels below the working folder
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
	kind       *ExecKind
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
}

func (c *execCollector) get(k execKey, kind *ExecKind) *execParts {
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
func (c *execCollector) collectWorkDirs(kind *ExecKind, dir, version string) {
	set := func(p *execParts, d string) {
		c.setWorkDir(p, d)
		if p.dirVersion == "" {
			p.dirVersion = version
		}
	}
	switch kind.Layout {
	case LayoutSeq:
		for _, e := range c.readDirQuiet(dir) {
			if seq, ok := parseSeqDir(e); ok {
				set(c.get(execKey{kind.Handler, "", seq}, kind), e.OSPath)
			} else if e.IsLink {
				c.r.Report(evidence.CheckFile(e)) // a working folder that is a link: not followed
			}
		}
	case LayoutNameSeq:
		for _, n := range c.readDirQuiet(dir) {
			if n.IsLink {
				c.r.Report(evidence.CheckFile(n))
			}
			if !n.IsDir || n.IsLink {
				continue
			}
			for _, e := range c.readDirQuiet(n.OSPath) {
				if seq, ok := parseSeqDir(e); ok {
					set(c.get(execKey{kind.Handler, n.Name, seq}, kind), e.OSPath)
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

// collect walks handler folders (oldest version first, so the newest
// version's copy of a file wins) and download folders.
func (c *execCollector) collect(ctx context.Context) {
	handlers := ListHandlers(c.r, c.logf)
	for _, h := range handlers {
		if ctx.Err() != nil {
			return
		}
		kind := findKind(h.OS, h.Handler)
		if kind == nil {
			continue
		}
		h := h
		c.hdirs[kind.Handler] = append(c.hdirs[kind.Handler], h.OSPath)
		c.listSeqFiles(h.ConfigDir, ".settings", func(n string, seq int64, e evidence.Entry) {
			p := c.get(execKey{kind.Handler, n, seq}, kind)
			p.settings = &partRef{OSPath: e.OSPath, Version: h.Version, Size: e.Size, Mtime: e.Mtime, IsLink: e.IsLink}
			p.version = h.Version
		})
		c.listStatus(h.StatusDir, func(n string, seq int64, e evidence.Entry, temp bool) {
			p := c.get(execKey{kind.Handler, n, seq}, kind)
			if temp {
				p.leftovers = append(p.leftovers, e.OSPath)
				return
			}
			p.status = &partRef{OSPath: e.OSPath, Version: h.Version, Size: e.Size, Mtime: e.Mtime, IsLink: e.IsLink}
		})
		if !kind.MultiConfig {
			st := readHandlerState(c.r, h.OSPath, "", c.logf)
			if prev := c.states[kind.Handler]; prev == nil || st.Mrseq != nil || st.PidExists {
				c.states[kind.Handler] = &st
			}
		}
	}
	// Working folders inside handler folders: newest version first, so
	// its folder is the run's and older copies are RelatedPaths.
	for i := len(handlers) - 1; i >= 0; i-- {
		h := handlers[i]
		kind := findKind(h.OS, h.Handler)
		if kind == nil || kind.HandlerDownloadDir == "" {
			continue
		}
		dir := evidence.JoinOSPath(h.OSPath, kind.HandlerDownloadDir)
		if kind.Layout == LayoutFlatScript {
			c.collectFlat(kind, dir, h.Version)
			continue
		}
		c.collectWorkDirs(kind, dir, h.Version)
	}
	for i := range ExecKinds {
		if ctx.Err() != nil {
			return
		}
		kind := &ExecKinds[i]
		for _, d := range kind.DownloadDirs {
			c.collectWorkDirs(kind, d, "")
		}
		for _, g := range kind.RunAsDirs {
			c.collectRunAs(kind, g)
		}
		if kind.RootPlaceholders {
			c.collectRootPlaceholders(kind)
		}
	}
	c.attributeFlat()
}

// collectFlat reads a flat Downloads folder: script<seq>.ps1 files name
// their run; everything else waits in flatPool for attributeFlat.
func (c *execCollector) collectFlat(kind *ExecKind, dir, version string) {
	list := c.readDirQuiet(dir)
	for i := range list {
		e := list[i]
		if m := windowsFlatScript.FindStringSubmatch(e.Name); m != nil && !e.IsDir && !e.IsLink {
			seq, err := strconv.ParseInt(m[1], 10, 64)
			if err == nil {
				p := c.get(execKey{kind.Handler, "", seq}, kind)
				if p.flatScript == nil {
					p.flatScript = &e
					c.setWorkDir(p, dir)
					p.dirVersion = version
				}
				continue
			}
		}
		c.flatPool[kind.Handler] = append(c.flatPool[kind.Handler], e)
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
func (c *execCollector) collectRunAs(kind *ExecKind, glob string) {
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
					p := c.get(execKey{kind.Handler, n.Name, seq}, kind)
					p.runAs = append(p.runAs, runAsRef{User: user, Dir: e.OSPath})
				}
			}
		}
	}
}

// collectRootPlaceholders finds /<name>.<seq>.status placeholders, only
// on a root that holds a Linux agent tree.
func (c *execCollector) collectRootPlaceholders(kind *ExecKind) {
	if !c.r.Exists(LinuxLibDir) {
		return
	}
	for _, e := range c.readDirQuiet("/") {
		if e.IsDir {
			continue
		}
		if n, seq, ok := ParseSeqFileName(e.Name, ".status"); ok && n != "" {
			p := c.get(execKey{kind.Handler, n, seq}, kind)
			p.rootStatus = &partRef{OSPath: e.OSPath, Size: e.Size, Mtime: e.Mtime, IsLink: e.IsLink}
		}
	}
}

// stateFor returns the mrseq/pidstart state of a run's handler
// (multi-config: of its name, read from the newest handler folder that
// has one).
func (c *execCollector) stateFor(k execKey, kind *ExecKind) *handlerState {
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

type executionsArgs struct {
	Root     string      `vfilter:"optional,field=root,doc=The root of the evidence system (/ for Linux or the C: drive for Windows) as an accessor path; default the running system's."`
	Accessor string      `vfilter:"optional,field=accessor,doc=The accessor that reads the evidence (default auto)."`
	Redact   bool        `vfilter:"optional,field=redact,doc=Redact secrets (SAS signatures and storage keys and passwords) in commands and output and URIs; default true."`
	Decrypt  vfilter.Any `vfilter:"optional,field=decrypt,doc=Decrypt protectedSettings: auto (default: when key material is found on the evidence or in keys) or true or false."`
	Keys     []string    `vfilter:"optional,field=keys,doc=Key files (accessor paths) read before the evidence's own /var/lib/waagent keys: PEM certificates and private keys or PKCS#12."`
	Password string      `vfilter:"optional,field=password,doc=Password of the PKCS#12 files in keys (default empty)."`
}

// ExecutionsPlugin is azure_run_executions.
type ExecutionsPlugin struct{}

func (ExecutionsPlugin) Info(scope vfilter.Scope, tm *vfilter.TypeMap) *vfilter.PluginInfo {
	return &vfilter.PluginInfo{
		Name:    "azure_run_executions",
		Doc:     "One row per execution of a handler that runs code (Run Command v1 and v2, Custom Script; Linux and Windows), joining its settings, status, working folder (script, stdout, stderr, dropped files), the handler's mrseq/pidstart and the goal states that keep its public settings.",
		ArgType: tm.AddType(scope, &executionsArgs{}),
		Version: 1,
	}
}

func (ExecutionsPlugin) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) <-chan vfilter.Row {
	const name = "azure_run_executions"
	a := &executionsArgs{}
	return vqlkit.Run(ctx, scope, args, name, a, func(out chan vfilter.Row) {
		red := vqlkit.Redact(args, a.Redact)
		r := vqlkit.OpenRoot(scope, name, a.Accessor, a.Root)
		if r == nil {
			return
		}
		logf := func(f string, x ...any) { vqlkit.Logf(scope, name, f, x...) }
		popts, err := protected.NewOptions(a.Decrypt, a.Keys, a.Password, a.Accessor, red)
		if err != nil {
			logf("%v", err)
			return
		}
		popts.Plugin = name
		WalkExecutionsDecrypt(ctx, r, red, protected.NewDecryptor(scope, r, popts), logf, func(row *ordereddict.Dict) bool {
			return vqlkit.Send(ctx, out, row)
		})
	})
}

// WalkExecutions emits one row per execution found under r, sorted by
// Handler, ExtensionName, SeqNo; emit returning false stops the walk.
func WalkExecutions(ctx context.Context, r *evidence.Root, red bool, logf func(string, ...any), emit func(*ordereddict.Dict) bool) {
	WalkExecutionsDecrypt(ctx, r, red, nil, logf, emit)
}

// WalkExecutionsDecrypt is WalkExecutions decrypting protectedSettings with dec (nil: never).
func WalkExecutionsDecrypt(ctx context.Context, r *evidence.Root, red bool, dec *protected.Decryptor, logf func(string, ...any), emit func(*ordereddict.Dict) bool) {
	c := &execCollector{r: r, logf: logf, dec: dec, parts: map[execKey]*execParts{}, states: map[string]*handlerState{},
		hdirs: map[string][]string{}, flatPool: map[string][]evidence.Entry{}}
	c.collect(ctx)
	if len(c.parts) > 0 && ctx.Err() == nil {
		c.loadGoalStates(ctx)
	}
	for _, k := range c.sortedKeys() {
		if ctx.Err() != nil {
			return
		}
		p := c.parts[k]
		st := c.stateFor(k, p.kind)
		if !emit(c.row(k, p, st, red)) {
			return
		}
	}
}

type timeFrom struct {
	t   time.Time
	src string
}

func firstTime(c ...timeFrom) (interface{}, interface{}) {
	for _, x := range c {
		if !x.t.IsZero() {
			return x.t.UTC(), x.src
		}
	}
	return nil, nil
}

func (c *execCollector) row(k execKey, p *execParts, st *handlerState, red bool) *ordereddict.Dict {
	r := c.r
	version := p.version
	if version == "" && p.status != nil {
		version = p.status.Version
	}
	if version == "" {
		version = p.dirVersion
	}

	// Settings.
	var set *Settings
	var settingsMtime time.Time
	settingsBad := false
	if p.settings != nil {
		settingsMtime = p.settings.Mtime
		b, trunc, err := readPart(r, p.settings)
		switch {
		case err != nil:
			c.logf("%s: %v", p.settings.OSPath, err)
		default:
			if trunc {
				c.logf("%s: larger than %d bytes; parsed the start only", p.settings.OSPath, MaxDocBytes)
			}
			s, perr := ParseSettings(b)
			if perr != nil {
				c.logf("%s: %v", p.settings.OSPath, perr)
				settingsBad = true
			}
			set = s
		}
	}

	// Status: the handler's status file, else (RC v2 Linux) the stray
	// placeholder in the filesystem root.
	var sts *Status
	statusRef := p.status
	if statusRef == nil {
		statusRef = p.rootStatus
	}
	if statusRef != nil {
		b, trunc, err := readPart(r, statusRef)
		switch {
		case err != nil:
			c.logf("%s: %v", statusRef.OSPath, err)
		default:
			if trunc {
				c.logf("%s: larger than %d bytes; parsed the start only", statusRef.OSPath, MaxDocBytes)
			}
			s, perr := ParseStatus(b)
			if perr != nil {
				c.logf("%s: %v", statusRef.OSPath, perr)
			}
			if !s.Empty {
				sts = s
			}
		}
	}

	// Working folder.
	var (
		scriptPath, scriptSHA    interface{}
		scriptEntry              *evidence.Entry
		stdoutEntry, stderrEntry *evidence.Entry
		files                    []interface{}
		workDir                  interface{}
		scriptText               string
		topFiles                 []*evidence.Entry
		scriptRead               bool
	)
	fold := p.kind.OS == "Windows"
	uriScript := scriptURIName(set)
	if p.workDir != "" {
		workDir = p.workDir
	}
	switch {
	case p.kind.Layout == LayoutFlatScript:
		scriptEntry = p.flatScript
		budget := MaxWorkDirFiles
		for i := range p.flatFiles {
			e := p.flatFiles[i]
			files = c.addFiles(files, e, "", 0, &budget)
			if !e.IsDir && !e.IsLink {
				topFiles = append(topFiles, &p.flatFiles[i])
			}
		}
	case p.workDir != "":
		list, err := r.ReadDir(p.workDir)
		if err != nil {
			c.logf("%s: %v", p.workDir, err)
			list = byName(r, p.workDir, p.kind) // an unlistable (711) folder: its files by name
		}
		budget := MaxWorkDirFiles
		var uriEntry *evidence.Entry
		for i := range list {
			e := list[i]
			plain := !e.IsDir && !e.IsLink
			if !plain && nameIn(e.Name, p.kind.ScriptNames, fold) || !plain && nameIn(e.Name, p.kind.StdoutNames, fold) || !plain && nameIn(e.Name, p.kind.StderrNames, fold) {
				c.r.Report(evidence.CheckFile(e)) // the handler's own file is a link or a folder: not read
			}
			switch {
			// A symlink or folder under one of these names is not the
			// handler's file: it is listed in Files instead.
			case plain && scriptEntry == nil && nameIn(e.Name, p.kind.ScriptNames, fold):
				scriptEntry = &list[i]
			case plain && stdoutEntry == nil && nameIn(e.Name, p.kind.StdoutNames, fold):
				stdoutEntry = &list[i]
			case plain && stderrEntry == nil && nameIn(e.Name, p.kind.StderrNames, fold):
				stderrEntry = &list[i]
			default:
				if plain && uriScript != "" && uriEntry == nil && nameIn(e.Name, []string{uriScript}, fold) {
					uriEntry = &list[i]
				}
				files = c.addFiles(files, e, "", 0, &budget)
				if plain {
					topFiles = append(topFiles, &list[i])
				}
			}
		}
		// RC v2 source.scriptUri: the downloaded script is the file
		// named after the URI (it stays in Files as a download too).
		if scriptEntry == nil && uriEntry != nil {
			scriptEntry = uriEntry
		}
	}
	// RC v2 runAsUser: the copy in the user's home keeps the script after
	// the handler's own working folder is gone.
	var runAsUser interface{}
	if set != nil && set.Public != nil {
		if u, ok := getStr(set.Public, "runAsUser"); ok && u != "" {
			runAsUser = u
		}
	}
	var related []interface{}
	for _, ra := range p.runAs {
		related = append(related, ra.Dir)
		if runAsUser == nil && ra.User != "" {
			runAsUser = ra.User
		}
		if scriptEntry == nil {
			for _, n := range p.kind.ScriptNames {
				if e, err := r.Lstat(evidence.JoinOSPath(ra.Dir, n)); err == nil && !e.IsDir && !e.IsLink {
					e := e
					scriptEntry = &e
					break
				}
			}
		}
	}
	if p.rootStatus != nil {
		related = append(related, p.rootStatus.OSPath)
	}
	for _, d := range p.altDirs {
		related = append(related, d)
	}
	if scriptEntry != nil {
		scriptPath = scriptEntry.OSPath
		if !scriptEntry.IsLink {
			b, _, sum, err := readHashed(r, scriptEntry.OSPath, scriptEntry.Size, MaxScriptRead, scriptEntry.Size <= MaxHashBytes)
			if err == nil {
				scriptText, scriptRead = toText(b), true
				if sum != "" {
					scriptSHA = sum
				}
			} else {
				c.logf("%s: %v", scriptEntry.OSPath, err)
			}
		}
	}

	// Command: settings, else the goal states, else the script file.
	gs := c.goalFor(k)
	var command, commandSource, goalSource interface{}
	var dsec protected.Decrypted
	if set != nil && set.Protected {
		dsec = c.dec.Decrypt(set.ProtectedSettings, set.Thumbprint)
	}
	decrypted, decryptErr := dsec.Columns()
	switch {
	case set != nil && set.Command != "":
		command, commandSource = redactCmd(set.Command, red), "settings"
	case dsec.Command != "": // already redacted (redact.CommandLine) unless redact=false
		command, commandSource = dsec.Command, protected.CommandSource
	case gs != nil && gs.Command != "":
		command, commandSource = redactCmd(gs.Command, red), "goalstate"
	case scriptRead:
		command, commandSource = redactCmd(scriptText, red), "script"
	}
	if gs != nil {
		goalSource = gs.Source
	}

	uriList := []string(nil)
	if set != nil {
		uriList = set.FileUris
	}
	if len(uriList) == 0 && gs != nil {
		uriList = gs.FileUris
	}

	// Output.
	var stdout, stderr, outSource interface{}
	var stdoutTrunc, stderrTrunc interface{}
	readOut := func(e *evidence.Entry) (interface{}, interface{}, bool) {
		if e == nil || e.IsLink {
			return nil, nil, false
		}
		if e.Size == 0 && e.Mode.IsRegular() {
			return "", false, true
		}
		b, trunc, _, err := readHashed(r, e.OSPath, e.Size, MaxOutputBytes, false)
		if err != nil {
			c.logf("%s: %v", e.OSPath, err)
			return nil, nil, false
		}
		return redactStr(toText(b), red), trunc, true
	}
	var okOut, okErr bool
	stdout, stdoutTrunc, okOut = readOut(stdoutEntry)
	stderr, stderrTrunc, okErr = readOut(stderrEntry)
	if okOut || okErr {
		outSource = "files"
	}
	if sts != nil && !okOut && !okErr && (sts.StdOut != nil || sts.StdErr != nil) {
		stdout, stderr = strPtr(sts.StdOut, red), strPtr(sts.StdErr, red)
		stdoutTrunc, stderrTrunc = nil, nil
		outSource = "status"
	}

	// Running.
	running := false
	var pid interface{}
	// A stray /<name>.<seq>.status is only ever the shim's placeholder:
	// the handler writes its progress into status/, so the stray file
	// says when the run started, never that it is still going.
	if sts != nil && sts.InProgress() && statusRef != p.rootStatus {
		// The last recorded state is "in progress". A placeholder for a
		// sequence above mrseq is a run the handler binary never took
		// up (it saves mrseq first): started by the shim, never executed.
		running = !(sts.Placeholder && st != nil && st.Mrseq != nil && k.Seq > *st.Mrseq)
	}
	if st != nil && st.PidExists && st.Mrseq != nil && *st.Mrseq == k.Seq {
		running = true
		pid = vqlkit.Int(st.Pid)
	}
	var mostRecent interface{}
	if st != nil && st.Mrseq != nil {
		mostRecent = *st.Mrseq == k.Seq
	}

	// Times: best evidence first (docs/plugins-extensions.md).
	var ivStart, placeholderTime, ivEnd, finalTime time.Time
	var status, exitCode interface{}
	if sts != nil {
		ivStart, ivEnd = sts.StartTime, sts.EndTime
		if sts.Placeholder {
			placeholderTime = refineTime(sts.Timestamp, statusRef.Mtime)
		} else if !sts.InProgress() {
			finalTime = refineTime(sts.Timestamp, statusRef.Mtime)
		}
		status = vqlkit.Str(sts.State)
		exitCode = vqlkit.Int(sts.ExitCode)
	}
	var scriptMtime, stdoutMtime, stderrMtime time.Time
	if scriptEntry != nil {
		scriptMtime = scriptEntry.Mtime
	}
	if stdoutEntry != nil {
		stdoutMtime = stdoutEntry.Mtime
	}
	if stderrEntry != nil {
		stderrMtime = stderrEntry.Mtime
	}
	if set != nil && set.Empty {
		settingsMtime = time.Time{} // truncation time, not the run's
	}
	started, startedSrc := firstTime(
		timeFrom{ivStart, "status.startTime"},
		timeFrom{placeholderTime, "status.placeholder"},
		timeFrom{scriptMtime, "script.mtime"},
		timeFrom{downloadMtime(uriList, topFiles, files), "download.mtime"},
		timeFrom{settingsMtime, "settings.mtime"},
	)
	var finished, finishedSrc interface{}
	if !running {
		finished, finishedSrc = firstTime(
			timeFrom{ivEnd, "status.endTime"},
			timeFrom{finalTime, "status.timestamp"},
			timeFrom{laterOf(stdoutMtime, stderrMtime), "output.mtime"},
		)
	}

	var protected, uris interface{}
	if set != nil && !set.Empty && !settingsBad {
		protected = set.Protected
	}
	if len(uriList) > 0 {
		l := make([]interface{}, len(uriList))
		for i, u := range uriList {
			l[i] = redactStr(u, red)
		}
		uris = l
	}
	var settingsPath, statusPath, settingsMtimeV, settingsEmpty interface{}
	if p.settings != nil {
		settingsPath = p.settings.OSPath
		settingsMtimeV = vqlkit.Time(p.settings.Mtime)
		if set != nil {
			settingsEmpty = set.Empty
		}
	}
	if statusRef != nil {
		statusPath = statusRef.OSPath
	}
	var execState interface{}
	if sts != nil {
		execState = vqlkit.Str(sts.ExecutionState)
	}
	var relatedV interface{}
	if len(related) > 0 {
		relatedV = related
	}
	var leftovers interface{}
	if len(p.leftovers) > 0 {
		l := make([]interface{}, len(p.leftovers))
		for i, x := range p.leftovers {
			l[i] = x
		}
		leftovers = l
	}
	var filesV interface{}
	if p.workDir != "" {
		if files == nil {
			files = []interface{}{}
		}
		filesV = files
	}

	return ordereddict.NewDict().
		Set("OS", p.kind.OS).
		Set("Kind", p.kind.Kind).
		Set("Handler", k.Handler).
		Set("HandlerVersion", vqlkit.Str(version)).
		Set("ExtensionName", vqlkit.Str(k.ExtName)).
		Set("SeqNo", k.Seq).
		Set("Command", command).
		Set("CommandSource", commandSource).
		Set("ScriptPath", scriptPath).
		Set("ScriptSHA256", scriptSHA).
		Set("StdOut", stdout).
		Set("StdOutTruncated", stdoutTrunc).
		Set("StdErr", stderr).
		Set("StdErrTruncated", stderrTrunc).
		Set("OutputSource", outSource).
		Set("Status", status).
		Set("ExitCode", exitCode).
		Set("Started", started).
		Set("StartedSource", startedSrc).
		Set("Finished", finished).
		Set("FinishedSource", finishedSrc).
		Set("Running", running).
		Set("Pid", pid).
		Set("MostRecent", mostRecent).
		Set("Protected", protected).
		Set("ProtectedSettingsDecrypted", decrypted).
		Set("DecryptError", decryptErr).
		Set("FileUris", uris).
		Set("WorkingDir", workDir).
		Set("Files", filesV).
		Set("SettingsPath", settingsPath).
		Set("StatusPath", statusPath).
		Set("StatusLeftovers", leftovers).
		Set("ExecutionState", execState).
		Set("RunAsUser", runAsUser).
		Set("SettingsMtime", settingsMtimeV).
		Set("SettingsEmpty", settingsEmpty).
		Set("GoalState", goalSource).
		Set("RelatedPaths", relatedV)
}

// nameIn says whether name is one of names (case-insensitively for
// Windows evidence).
func nameIn(name string, names []string, fold bool) bool {
	for _, n := range names {
		if name == n || (fold && strings.EqualFold(name, n)) {
			return true
		}
	}
	return false
}

// scriptURIName is the file name RC v2 gives a source.scriptUri download.
func scriptURIName(set *Settings) string {
	if set == nil || set.Public == nil {
		return ""
	}
	src := getDict(set.Public, "source")
	if src == nil {
		return ""
	}
	u, ok := getStr(src, "scriptUri")
	if !ok || u == "" {
		return ""
	}
	n := uriFileName(u)
	if n == "." || n == "/" {
		return ""
	}
	return n
}

// downloadMtime is the latest mtime of the working-folder files named
// after a fileUris entry (the handler downloads them, then runs the
// command): a start time for public commands that leave no script.sh.
// Linux handlers name a download after the URI's last segment, in the
// working folder; the Windows Custom Script Extension keeps the path
// after the storage container (Downloads\<seq>\scripts\x.ps1), found in
// files (the Files list).
func downloadMtime(uris []string, top []*evidence.Entry, files []interface{}) time.Time {
	if len(uris) == 0 {
		return time.Time{}
	}
	var t time.Time
	for _, u := range uris {
		name := uriFileName(u)
		if name == "" {
			continue
		}
		for _, e := range top {
			if e.Name == name && e.Mtime.After(t) {
				t = e.Mtime
			}
		}
		rel := uriPathAfterContainer(u)
		if rel == "" || rel == name {
			continue
		}
		for _, f := range files {
			d, _ := f.(*ordereddict.Dict)
			n, _ := d.Get("Name")
			if ns, _ := n.(string); !strings.EqualFold(ns, rel) {
				continue
			}
			m, _ := d.Get("Mtime")
			if mt, ok := m.(time.Time); ok && mt.After(t) {
				t = mt
			}
		}
	}
	return t
}

// uriPathAfterContainer is a blob URI's path below its container
// ("https://a.blob.core.windows.net/c/scripts/x.ps1" -> "scripts/x.ps1").
func uriPathAfterContainer(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	parts := strings.SplitN(strings.Trim(p.Path, "/"), "/", 2)
	if len(parts) < 2 {
		return ""
	}
	return parts[1]
}

// uriFileName is the last path segment of a URL, as RC v1 / CSE name
// downloads.
func uriFileName(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return path.Base(strings.TrimRight(p.Path, "/"))
}

// readPart reads a settings/status file found in a listing.
func readPart(r *evidence.Root, p *partRef) ([]byte, bool, error) {
	if p.IsLink {
		return nil, false, &fs.PathError{Op: "read", Path: p.OSPath, Err: ErrSymlink}
	}
	b, trunc, _, err := readHashed(r, p.OSPath, p.Size, MaxDocBytes, false)
	return b, trunc, err
}

// refineTime: timestampUTC has whole seconds; the status file's mtime is
// the same write with sub-second precision. Use the mtime when it falls in
// the timestamp's second (it agrees with the content); otherwise (a copy,
// a touch) keep the timestamp.
func refineTime(ts, mtime time.Time) time.Time {
	if ts.IsZero() || mtime.IsZero() || ts.Nanosecond() != 0 {
		return ts
	}
	if d := mtime.Sub(ts); d >= 0 && d < time.Second {
		return mtime
	}
	return ts
}

func laterOf(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// hash hashes a regular file below MaxHashBytes.
func (c *execCollector) hash(e *evidence.Entry) (string, bool) {
	if e.IsDir || e.IsLink || e.Size > MaxHashBytes {
		return "", false
	}
	_, _, sum, err := readHashed(c.r, e.OSPath, e.Size, 0, true)
	if err != nil {
		c.logf("%s: %v", e.OSPath, err)
		return "", false
	}
	return sum, true
}

// addFiles adds e (and, for a folder, what it holds) to files. Symlinks
// are listed, never followed; depth and count are bounded.
func (c *execCollector) addFiles(files []interface{}, e evidence.Entry, prefix string, depth int, budget *int) []interface{} {
	if *budget <= 0 {
		return files
	}
	name := e.Name
	if prefix != "" {
		name = prefix + "/" + e.Name
	}
	if e.IsDir && !e.IsLink {
		if depth >= MaxWorkDirDepth {
			c.logf("%s: deeper than %d levels; not listed", e.OSPath, MaxWorkDirDepth)
			return files
		}
		list, err := c.r.ReadDir(e.OSPath)
		if err != nil {
			c.logf("%s: %v", e.OSPath, err)
			return files
		}
		for _, x := range list {
			files = c.addFiles(files, x, name, depth+1, budget)
		}
		return files
	}
	*budget--
	if *budget == 0 {
		c.logf("%s: more than %d files in the working folder; the rest are not listed", e.OSPath, MaxWorkDirFiles)
	}
	var sum interface{}
	if s, ok := c.hash(&e); ok {
		sum = s
	}
	return append(files, ordereddict.NewDict().
		Set("Name", name).
		Set("OSPath", e.OSPath).
		Set("Size", e.Size).
		Set("SHA256", sum).
		Set("Mtime", vqlkit.Time(e.Mtime)))
}

package extensions

import (
	"io/fs"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/catalog"
	"github.com/azvql/azvql/plugins/evidence"
	"github.com/azvql/azvql/plugins/protected"
	"github.com/azvql/azvql/plugins/vqlkit"
)

// execution is one run being joined: the parts the collector found for
// it, and what each stage of the join (join, in order) read from them.
// Every field is a column value or what later stages need.
type execution struct {
	c   *execCollector
	k   execKey
	p   *execParts
	st  *handlerState
	red bool

	version string

	// readSettings
	set           *Settings
	settingsMtime time.Time
	settingsBad   bool

	// readStatus: the handler's status file, else the root placeholder
	sts       *Status
	statusRef *partRef

	// scanWorkDir, addRunAs
	scriptEntry, stdoutEntry, stderrEntry *evidence.Entry
	files                                 []interface{}
	topFiles                              []*evidence.Entry // plain files at the working folder's top
	runAsUser                             interface{}
	related                               []interface{}

	// readScript
	scriptText string
	scriptRead bool
	scriptSHA  interface{}

	// joinCommand
	command, commandSource, goalSource interface{}
	decrypted, decryptErr              interface{}
	uriList                            []string

	// readOutput
	stdout, stderr, stdoutTrunc, stderrTrunc, outSource interface{}

	// runState
	running         bool
	pid, mostRecent interface{}

	// times
	status, exitCode                           interface{}
	started, startedSrc, finished, finishedSrc interface{}
}

// join runs the stages of the join over one run's parts.
func (c *execCollector) join(k execKey, p *execParts, st *handlerState, red bool) *execution {
	x := &execution{c: c, k: k, p: p, st: st, red: red}
	x.version = p.version
	if x.version == "" && p.status != nil {
		x.version = p.status.Version
	}
	if x.version == "" {
		x.version = p.dirVersion
	}
	x.readSettings()
	x.readStatus()
	x.scanWorkDir()
	x.addRunAs()
	x.readScript()
	x.joinCommand()
	x.readOutput()
	x.runState()
	x.times()
	return x
}

func (x *execution) readSettings() {
	ref := x.p.settings
	if ref == nil {
		return
	}
	x.settingsMtime = ref.Mtime
	b, trunc, err := readPart(x.c.r, ref)
	if err != nil {
		x.c.logf("%s: %v", ref.OSPath, err)
		return
	}
	if trunc {
		x.c.logf("%s: larger than %d bytes; parsed the start only", ref.OSPath, MaxDocBytes)
	}
	s, perr := ParseSettings(b)
	if perr != nil {
		x.c.logf("%s: %v", ref.OSPath, perr)
		x.settingsBad = true
	}
	for _, d := range s.Dups {
		x.c.logf("%s: %s", ref.OSPath, d.Message(x.red))
	}
	x.set = s
}

// readStatus reads the handler's status file, else (RC v2 Linux) the
// stray placeholder in the filesystem root.
func (x *execution) readStatus() {
	x.statusRef = x.p.status
	if x.statusRef == nil {
		x.statusRef = x.p.rootStatus
	}
	ref := x.statusRef
	if ref == nil {
		return
	}
	b, trunc, err := readPart(x.c.r, ref)
	if err != nil {
		x.c.logf("%s: %v", ref.OSPath, err)
		return
	}
	if trunc {
		x.c.logf("%s: larger than %d bytes; parsed the start only", ref.OSPath, MaxDocBytes)
	}
	s, perr := ParseStatus(b)
	if perr != nil {
		x.c.logf("%s: %v", ref.OSPath, perr)
	}
	for _, d := range s.Dups {
		x.c.logf("%s: %s", ref.OSPath, d.Message(x.red))
	}
	if !s.Empty {
		x.sts = s
	}
}

// scanWorkDir finds the script, stdout and stderr in the working folder
// and lists everything else in Files.
func (x *execution) scanWorkDir() {
	p, c := x.p, x.c
	budget := MaxWorkDirFiles
	if p.kind.Layout == catalog.LayoutFlatScript {
		x.scriptEntry = p.flatScript
		for i := range p.flatFiles {
			e := p.flatFiles[i]
			x.files = c.addFiles(x.files, e, "", 0, &budget)
			if !e.IsDir && !e.IsLink {
				x.topFiles = append(x.topFiles, &p.flatFiles[i])
			}
		}
		return
	}
	if p.workDir == "" {
		return
	}
	list, err := c.r.ReadDir(p.workDir)
	if err != nil {
		c.logf("%s: %v", p.workDir, err)
		list = byName(c.r, p.workDir, p.kind) // an unlistable (711) folder: its files by name
	}
	fold := p.kind.OS == catalog.Windows
	uriScript := scriptURIName(x.set)
	var uriEntry *evidence.Entry
	for i := range list {
		e := list[i]
		plain := !e.IsDir && !e.IsLink
		if !plain && (nameIn(e.Name, p.kind.ScriptNames, fold) || nameIn(e.Name, p.kind.StdoutNames, fold) || nameIn(e.Name, p.kind.StderrNames, fold)) {
			c.r.Report(evidence.CheckFile(e)) // the handler's own file is a link or a folder: not read
		}
		switch {
		// A symlink or folder under one of these names is not the
		// handler's file: it is listed in Files instead.
		case plain && x.scriptEntry == nil && nameIn(e.Name, p.kind.ScriptNames, fold):
			x.scriptEntry = &list[i]
		case plain && x.stdoutEntry == nil && nameIn(e.Name, p.kind.StdoutNames, fold):
			x.stdoutEntry = &list[i]
		case plain && x.stderrEntry == nil && nameIn(e.Name, p.kind.StderrNames, fold):
			x.stderrEntry = &list[i]
		default:
			if plain && uriScript != "" && uriEntry == nil && nameIn(e.Name, []string{uriScript}, fold) {
				uriEntry = &list[i]
			}
			x.files = c.addFiles(x.files, e, "", 0, &budget)
			if plain {
				x.topFiles = append(x.topFiles, &list[i])
			}
		}
	}
	// RC v2 source.scriptUri: the downloaded script is the file named
	// after the URI (it stays in Files as a download too).
	if x.scriptEntry == nil && uriEntry != nil {
		x.scriptEntry = uriEntry
	}
}

// addRunAs: RC v2 runAsUser. The copy in the user's home keeps the
// script after the handler's own working folder is gone. Also gathers
// RelatedPaths.
func (x *execution) addRunAs() {
	if x.set != nil && x.set.Public != nil {
		if u, ok := getStr(x.set.Public, "runAsUser"); ok && u != "" {
			x.runAsUser = u
		}
	}
	for _, ra := range x.p.runAs {
		x.related = append(x.related, ra.Dir)
		if x.runAsUser == nil && ra.User != "" {
			x.runAsUser = ra.User
		}
		if x.scriptEntry == nil {
			for _, n := range x.p.kind.ScriptNames {
				if e, err := x.c.r.Lstat(evidence.JoinOSPath(ra.Dir, n)); err == nil && !e.IsDir && !e.IsLink {
					e := e
					x.scriptEntry = &e
					break
				}
			}
		}
	}
	if x.p.rootStatus != nil {
		x.related = append(x.related, x.p.rootStatus.OSPath)
	}
	for _, d := range x.p.altDirs {
		x.related = append(x.related, d)
	}
}

func (x *execution) readScript() {
	e := x.scriptEntry
	if e == nil || e.IsLink {
		return
	}
	b, _, sum, err := readHashed(x.c.r, e.OSPath, e.Size, MaxScriptRead, e.Size <= MaxHashBytes)
	if err != nil {
		x.c.logf("%s: %v", e.OSPath, err)
		return
	}
	x.scriptText, x.scriptRead = toText(b), true
	if sum != "" {
		x.scriptSHA = sum
	}
}

// joinCommand: the command from the settings, else the decrypted
// protected settings, else the goal states, else the script file; the
// URIs from the settings, else the goal states.
func (x *execution) joinCommand() {
	set, red := x.set, x.red
	gs := x.c.goalFor(x.k)
	var dsec protected.Decrypted
	if set != nil && set.ProtectedKind != "" {
		dsec = x.c.dec.NotCiphertext(set.ProtectedKind)
	} else if set != nil && set.Protected {
		dsec = x.c.dec.Decrypt(set.ProtectedSettings, set.Thumbprint)
	}
	x.decrypted, x.decryptErr = dsec.Columns()
	switch {
	case set != nil && set.Command != "":
		x.command, x.commandSource = redactCmd(set.Command, red), "settings"
	case dsec.Command != "": // already redacted (redact.CommandLine) unless redact=false
		x.command, x.commandSource = dsec.Command, protected.CommandSource
	case gs != nil && gs.Command != "":
		x.command, x.commandSource = redactCmd(gs.Command, red), "goalstate"
	case x.scriptRead:
		x.command, x.commandSource = redactCmd(x.scriptText, red), "script"
	}
	if gs != nil {
		x.goalSource = gs.Source
	}
	if set != nil {
		x.uriList = set.FileUris
	}
	if len(x.uriList) == 0 && gs != nil {
		x.uriList = gs.FileUris
	}
}

// readOutput: the stdout/stderr files, else the status file's copies.
func (x *execution) readOutput() {
	var okOut, okErr bool
	x.stdout, x.stdoutTrunc, okOut = x.readOut(x.stdoutEntry)
	x.stderr, x.stderrTrunc, okErr = x.readOut(x.stderrEntry)
	if okOut || okErr {
		x.outSource = "files"
	}
	if sts := x.sts; sts != nil && !okOut && !okErr && (sts.StdOut != nil || sts.StdErr != nil) {
		x.stdout, x.stderr = strPtr(sts.StdOut, x.red), strPtr(sts.StdErr, x.red)
		x.stdoutTrunc, x.stderrTrunc = nil, nil
		x.outSource = "status"
	}
}

func (x *execution) readOut(e *evidence.Entry) (interface{}, interface{}, bool) {
	if e == nil || e.IsLink {
		return nil, nil, false
	}
	if e.Size == 0 && e.Mode.IsRegular() {
		return "", false, true
	}
	b, trunc, _, err := readHashed(x.c.r, e.OSPath, e.Size, MaxOutputBytes, false)
	if err != nil {
		x.c.logf("%s: %v", e.OSPath, err)
		return nil, nil, false
	}
	return redactStr(toText(b), x.red), trunc, true
}

// runState: Running, Pid and MostRecent from the status and the
// handler's mrseq/pidstart.
func (x *execution) runState() {
	sts, st, seq := x.sts, x.st, x.k.Seq
	// A stray /<name>.<seq>.status is only ever the shim's placeholder:
	// the handler writes its progress into status/, so the stray file
	// says when the run started, never that it is still going.
	if sts != nil && sts.InProgress() && x.statusRef != x.p.rootStatus {
		// The last recorded state is "in progress". A placeholder for a
		// sequence above mrseq is a run the handler binary never took
		// up (it saves mrseq first): started by the shim, never executed.
		x.running = !(sts.Placeholder && st != nil && st.Mrseq != nil && seq > *st.Mrseq)
	}
	if st != nil && st.PidExists && st.Mrseq != nil && *st.Mrseq == seq {
		x.running = true
		x.pid = vqlkit.Int(st.Pid)
	}
	if st != nil && st.Mrseq != nil {
		x.mostRecent = *st.Mrseq == seq
	}
}

// times: Started and Finished from the best evidence first
// (docs/plugins-extensions.md), each with its source.
func (x *execution) times() {
	var ivStart, placeholderTime, ivEnd, finalTime time.Time
	if sts := x.sts; sts != nil {
		ivStart, ivEnd = sts.StartTime, sts.EndTime
		if sts.Placeholder {
			placeholderTime = refineTime(sts.Timestamp, x.statusRef.Mtime)
		} else if !sts.InProgress() {
			finalTime = refineTime(sts.Timestamp, x.statusRef.Mtime)
		}
		x.status = vqlkit.Str(sts.State)
		x.exitCode = vqlkit.Int(sts.ExitCode)
	}
	settingsMtime := x.settingsMtime
	if x.set != nil && x.set.Empty {
		settingsMtime = time.Time{} // truncation time, not the run's
	}
	x.started, x.startedSrc = firstTime(
		timeFrom{ivStart, "status.startTime"},
		timeFrom{placeholderTime, "status.placeholder"},
		timeFrom{mtimeOf(x.scriptEntry), "script.mtime"},
		timeFrom{downloadMtime(x.uriList, x.topFiles, x.files), "download.mtime"},
		timeFrom{settingsMtime, "settings.mtime"},
	)
	if !x.running {
		x.finished, x.finishedSrc = firstTime(
			timeFrom{ivEnd, "status.endTime"},
			timeFrom{finalTime, "status.timestamp"},
			timeFrom{laterOf(mtimeOf(x.stdoutEntry), mtimeOf(x.stderrEntry)), "output.mtime"},
		)
	}
}

func mtimeOf(e *evidence.Entry) time.Time {
	if e == nil {
		return time.Time{}
	}
	return e.Mtime
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

// Package goalstate reads the goal states the Azure guest agent keeps on
// a VM: the extension configuration WireServer (ExtensionsConfig XML) and
// the HostGAPlugin (VmSettings JSON, FastTrack) sent it, with every
// extension's settings. Linux: /var/lib/waagent/ExtensionsConfig.<N>.xml
// (agents up to 2.7, unredacted), /var/lib/waagent/history/ folders and
// zips (2.8+ redacts protectedSettings there). Windows:
// C:\WindowsAzure\Config\*.xml and the ExtensionsConfig copies inside
// C:\WindowsAzure\CollectGuestLogsTemp\*.zip.
//
// Public settings survive in goal states after the extension removed its
// own copies: Run Command scripts, Custom Script commands, download URIs.
package goalstate

import (
	"context"
	"errors"
	"io/fs"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/Velocidex/ordereddict"
	"www.velocidex.com/golang/vfilter"

	"github.com/azvql/azvql/plugins/evidence"
	"github.com/azvql/azvql/plugins/protected"
	"github.com/azvql/azvql/plugins/redact"
	"github.com/azvql/azvql/plugins/vqlkit"
)

// PluginName is the VQL name of the plugin.
const PluginName = "azure_goal_states"

// Columns, in order.
var Columns = []string{
	"OS", "Source", "Member", "Format", "Incarnation", "ETag", "Created",
	"Handler", "Version", "State", "ExtensionName", "SeqNo", "PublicSettings",
	"Thumbprint", "ProtectedSettings", "ProtectedSettingsDecrypted", "DecryptError",
	"Command", "CommandSource", "FileUris", "Mtime",
}

// Row is one extension setting found in a goal state.
type Row struct {
	OS                string // Linux | Windows
	Source            string // OSPath of the file, or of the zip holding it
	Member            string // zip member name; "" when Source is the file itself
	Format            string // ExtensionsConfig | VmSettings
	Incarnation       *int64
	ETag              string
	Created           time.Time
	Handler           string
	Version           string
	State             string
	ExtensionName     string
	SeqNo             *int64
	PublicSettings    interface{}
	Thumbprint        string
	ProtectedSettings string
	// ProtectedSettingsDecrypted is the decrypted protectedSettings (a
	// *ordereddict.Dict, secrets redacted unless redact=false); nil when
	// not decrypted. DecryptError says why decryption failed.
	ProtectedSettingsDecrypted interface{}
	DecryptError               string
	Command                    string
	CommandSource              string // publicSettings | protectedSettings; "" without Command
	FileUris                   []string
	Mtime                      time.Time
}

// Dict is the row in column order, absent values NULL.
func (r *Row) Dict() *ordereddict.Dict {
	var uris interface{}
	if len(r.FileUris) > 0 {
		uris = r.FileUris
	}
	return ordereddict.NewDict().
		Set("OS", r.OS).
		Set("Source", r.Source).
		Set("Member", vqlkit.Str(r.Member)).
		Set("Format", r.Format).
		Set("Incarnation", vqlkit.Int(r.Incarnation)).
		Set("ETag", vqlkit.Str(r.ETag)).
		Set("Created", vqlkit.Time(r.Created)).
		Set("Handler", vqlkit.Str(r.Handler)).
		Set("Version", vqlkit.Str(r.Version)).
		Set("State", vqlkit.Str(r.State)).
		Set("ExtensionName", vqlkit.Str(r.ExtensionName)).
		Set("SeqNo", vqlkit.Int(r.SeqNo)).
		Set("PublicSettings", r.PublicSettings).
		Set("Thumbprint", vqlkit.Str(r.Thumbprint)).
		Set("ProtectedSettings", vqlkit.Str(r.ProtectedSettings)).
		Set("ProtectedSettingsDecrypted", r.ProtectedSettingsDecrypted).
		Set("DecryptError", vqlkit.Str(r.DecryptError)).
		Set("Command", vqlkit.Str(r.Command)).
		Set("CommandSource", vqlkit.Str(r.CommandSource)).
		Set("FileUris", uris).
		Set("Mtime", vqlkit.Time(r.Mtime))
}

// Options control a walk.
type Options struct {
	Redact bool // redact SAS signatures and secrets in PublicSettings, Command, FileUris
	// Decryptor decrypts protectedSettings ciphertext (unredacted legacy
	// ExtensionsConfig.<N>.xml, Windows CollectGuestLogsTemp copies); nil
	// leaves them encrypted. Its own Redact option governs the plaintext.
	Decryptor *protected.Decryptor
}

// Evidence locations.
const (
	linuxAgentDir    = "/var/lib/waagent"
	linuxHistoryDir  = "/var/lib/waagent/history"
	windowsConfigDir = `C:\WindowsAzure\Config`
	windowsCollect   = `C:\WindowsAzure\CollectGuestLogsTemp`
)

var (
	// ExtensionsConfig.<N>.xml / VmSettings.<N>.json (agents up to 2.7,
	// and members of legacy history zips).
	reLegacyEC = regexp.MustCompile(`(?i)^ExtensionsConfig\.(\d+)\.xml$`)
	reLegacyVS = regexp.MustCompile(`(?i)^VmSettings\.(\d+)\.json$`)
	// History item names (WALinuxAgent archive.py), folder or .zip:
	//   2024-05-02T10-11-09__5   2024-05-02T10-11-09__5-4012345678901234567
	//   2018-04-06T08:21:37.142697_incarnation_3   2018-04-06T08:21:37.142697_3-1234
	reHistory = regexp.MustCompile(`(?i)^\d{4}-\d{2}-\d{2}T\d{2}[:-]\d{2}[:-]\d{2}(?:\.\d+)?(?:(?:_incarnation)?_+(\d+|status)(?:-([0-9A-Za-z]+))?)?(?:\.zip)?$`)
	// CollectGuestLogs: Config\WireServerRoleExtensionsConfig_<guid>._<VM>.xml
	reWindowsMember = regexp.MustCompile(`(?i)^WireServerRoleExtensionsConfig_.*\.xml$`)
)

// linuxKind classifies a goal-state file or zip member name (any folder
// part ignored): its format and the incarnation its name carries.
func linuxKind(name string) (format string, inc *int64) {
	base := memberBase(name)
	switch {
	case strings.EqualFold(base, "ExtensionsConfig.xml"):
		return FormatExtensionsConfig, nil
	case strings.EqualFold(base, "VmSettings.json"):
		return FormatVmSettings, nil
	}
	if m := reLegacyEC.FindStringSubmatch(base); m != nil {
		return FormatExtensionsConfig, parseInt(m[1])
	}
	if m := reLegacyVS.FindStringSubmatch(base); m != nil {
		return FormatVmSettings, parseInt(m[1])
	}
	return "", nil
}

// memberBase is the last component of a zip member name, which may use
// either separator.
func memberBase(name string) string {
	return path.Base(strings.ReplaceAll(name, `\`, "/"))
}

// historyName parses a history folder or zip name.
func historyName(name string) (inc *int64, etag string) {
	m := reHistory.FindStringSubmatch(name)
	if m == nil {
		return nil, ""
	}
	return parseInt(m[1]), m[2]
}

// source is one goal-state document to parse.
type source struct {
	os          string
	path        string // OSPath of the file or zip
	member      string
	format      string // "" = decide by content (Windows Config\*.xml)
	incarnation *int64 // from the file, folder or zip name
	etag        string
	mtime       time.Time
	quietOther  bool // skip documents of another kind without a log line
}

// Walker walks one evidence root.
type Walker struct {
	Root *evidence.Root
	Opts Options
	Logf func(format string, args ...interface{})
	Emit func(*Row) bool // false stops the walk
}

// Walk reads every goal state on the evidence, in a fixed order: Linux
// legacy files, Linux history (by name), then Windows Config and
// CollectGuestLogsTemp zips.
func (w *Walker) Walk(ctx context.Context) {
	if w.Logf == nil {
		w.Logf = func(string, ...interface{}) {}
	}
	steps := []func(context.Context) bool{w.walkLinuxTop, w.walkLinuxHistory, w.walkWindowsConfig, w.walkWindowsCollect}
	for _, step := range steps {
		if ctx.Err() != nil || !step(ctx) {
			return
		}
	}
}

func (w *Walker) files(pattern string) []evidence.Entry {
	list, _ := w.Root.Glob(pattern)
	out := list[:0]
	for _, e := range list {
		if w.regular(e) {
			out = append(out, e)
		}
	}
	return out
}

// regular says whether an entry may be read: symlinks are not followed
// (on a mounted image an absolute link points into the host) and
// devices, pipes and sockets are not opened.
func (w *Walker) regular(e evidence.Entry) bool {
	if e.IsLink {
		w.Logf("%s: symlink, not followed (target %q)", e.OSPath, e.Target)
		return false
	}
	if e.IsDir {
		w.Logf("%s: a folder, not a file: not read", e.OSPath)
		return false
	}
	if e.Mode&(fs.ModeDevice|fs.ModeCharDevice|fs.ModeNamedPipe|fs.ModeSocket|fs.ModeIrregular) != 0 {
		w.Logf("%s: not a regular file (%v), not read", e.OSPath, e.Mode.Type())
		return false
	}
	return true
}

func (w *Walker) walkLinuxTop(ctx context.Context) bool {
	var list []evidence.Entry
	list = append(list, w.files(linuxAgentDir+"/ExtensionsConfig.*.xml")...)
	list = append(list, w.files(linuxAgentDir+"/VmSettings.json")...)
	list = append(list, w.files(linuxAgentDir+"/VmSettings.*.json")...)
	for _, e := range list {
		format, inc := linuxKind(e.Name)
		if format == "" {
			continue
		}
		if !w.file(ctx, source{os: "Linux", path: e.OSPath, format: format, incarnation: inc, mtime: e.Mtime}) {
			return false
		}
	}
	return true
}

func (w *Walker) walkLinuxHistory(ctx context.Context) bool {
	if _, err := w.Root.Lstat(linuxHistoryDir); err != nil {
		if evidence.IsRefused(err) {
			w.Logf("%v", err) // a link on the way: reported, not followed
		}
		return true // absent, or a Linux path on a Windows host without root=
	}
	items, err := w.Root.ReadDir(linuxHistoryDir)
	if err != nil {
		w.Logf("%s: %v", linuxHistoryDir, err)
		return true
	}
	for _, item := range items {
		if ctx.Err() != nil {
			return false
		}
		inc, etag := historyName(item.Name)
		switch {
		case item.IsDir && !item.IsLink:
			files, err := w.Root.ReadDir(item.OSPath)
			if err != nil {
				w.Logf("%s: %v", item.OSPath, err)
				continue
			}
			for _, f := range files {
				if f.IsDir {
					continue
				}
				format, finc := linuxKind(f.Name)
				if format == "" || !w.regular(f) {
					continue
				}
				if finc == nil {
					finc = inc
				}
				if !w.file(ctx, source{os: "Linux", path: f.OSPath, format: format, incarnation: finc, etag: etag, mtime: f.Mtime}) {
					return false
				}
			}
		case !item.IsDir && strings.HasSuffix(strings.ToLower(item.Name), ".zip") && w.regular(item):
			src := source{os: "Linux", path: item.OSPath, incarnation: inc, etag: etag, mtime: item.Mtime}
			accepts := func(name string) bool { f, _ := linuxKind(name); return f != "" }
			if !w.zip(ctx, src, item.Size, accepts, func(name string) (string, *int64) { return linuxKind(name) }) {
				return false
			}
		}
	}
	return true
}

func (w *Walker) walkWindowsConfig(ctx context.Context) bool {
	list := w.files(windowsConfigDir + `\*.xml`)
	list = append(list, w.files(windowsConfigDir+`\*\*.xml`)...)
	for _, e := range list {
		if !w.file(ctx, source{os: "Windows", path: e.OSPath, mtime: e.Mtime, quietOther: true}) {
			return false
		}
	}
	return true
}

func (w *Walker) walkWindowsCollect(ctx context.Context) bool {
	for _, e := range w.files(windowsCollect + `\*.zip`) {
		src := source{os: "Windows", path: e.OSPath, mtime: e.Mtime}
		accepts := func(name string) bool { return reWindowsMember.MatchString(memberBase(name)) }
		kind := func(string) (string, *int64) { return FormatExtensionsConfig, nil }
		if !w.zip(ctx, src, e.Size, accepts, kind) {
			return false
		}
	}
	return true
}

// file reads and parses one goal-state file.
func (w *Walker) file(ctx context.Context, src source) bool {
	data, truncated, err := w.Root.ReadCapped(src.path, maxDocument)
	if err != nil {
		if len(data) == 0 {
			w.Logf("%s: %v", src.path, err)
			return true
		}
		w.Logf("%s: read error after %d bytes: %v; parsing what was read", src.path, len(data), err)
	}
	if truncated {
		w.Logf("%s: larger than %d MiB; parsing the first %d MiB", src.path, maxDocument>>20, maxDocument>>20)
	}
	return w.document(ctx, src, data)
}

// zip reads the goal-state members of one zip.
func (w *Walker) zip(ctx context.Context, src source, size int64, accepts func(string) bool, kind func(string) (string, *int64)) bool {
	f, err := w.Root.Open(src.path)
	if err != nil {
		w.Logf("%s: %v", src.path, err)
		return true
	}
	defer f.Close()
	ok := true
	zlog := func(format string, args ...interface{}) {
		w.Logf("%s: "+format, append([]interface{}{src.path}, args...)...)
	}
	readZip(f, size, accepts, func(m zipMember) bool {
		if ctx.Err() != nil {
			ok = false
			return false
		}
		s := src
		s.member = m.Name
		format, inc := kind(m.Name)
		s.format = format
		if inc != nil {
			s.incarnation = inc
		}
		if m.Err != nil {
			if len(m.Data) == 0 {
				w.Logf("%s: member %s: %v", src.path, m.Name, m.Err)
				return true
			}
			w.Logf("%s: member %s: %v; parsing the %d bytes read", src.path, m.Name, m.Err, len(m.Data))
		}
		ok = w.document(ctx, s, m.Data)
		return ok
	}, zlog)
	return ok && ctx.Err() == nil
}

func (w *Walker) where(src source) string {
	if src.member != "" {
		return src.path + ": member " + src.member
	}
	return src.path
}

// document parses one goal-state document and emits its rows.
func (w *Walker) document(ctx context.Context, src source, data []byte) bool {
	if len(data) == 0 {
		w.Logf("%s: empty file", w.where(src))
		return true
	}
	var (
		doc *Doc
		err error
	)
	switch src.format {
	case FormatVmSettings:
		doc, err = ParseVmSettings(data)
	default:
		doc, err = ParseExtensionsConfig(data)
		if err != nil && doc == nil && src.quietOther && errors.Is(err, ErrNotExtensionsConfig) {
			return true
		}
	}
	if err != nil {
		kind := "malformed XML"
		switch {
		case src.format == FormatVmSettings:
			kind = "malformed JSON"
		case errors.Is(err, ErrNotExtensionsConfig):
			kind = "skipped"
		}
		if doc == nil || len(doc.Settings) == 0 {
			w.Logf("%s: %s: %v", w.where(src), kind, err)
		} else {
			w.Logf("%s: %s: %v; emitting the %d settings read before it", w.where(src), kind, err, len(doc.Settings))
		}
	}
	if doc == nil {
		return true
	}
	for _, warn := range doc.Warnings {
		w.Logf("%s: %s", w.where(src), warn)
	}
	inc := src.incarnation
	if inc == nil {
		inc = doc.Incarnation
	}
	for _, s := range doc.Settings {
		if ctx.Err() != nil {
			return false
		}
		if !w.Emit(w.settingRow(src, doc, inc, s)) {
			return false
		}
	}
	return true
}

// ---------------------------------------------------------------------
// The VQL plugin

// Args are the plugin's arguments.
type Args struct {
	Root     string      `vfilter:"optional,field=root,doc=Root of the evidence system (the C: drive for Windows, / for Linux); default: the running system's"`
	Accessor string      `vfilter:"optional,field=accessor,doc=Accessor that reads the evidence (default auto)"`
	Redact   bool        `vfilter:"optional,field=redact,doc=Redact SAS signatures and secrets in PublicSettings, ProtectedSettingsDecrypted, Command and FileUris (default true)"`
	Decrypt  vfilter.Any `vfilter:"optional,field=decrypt,doc=Decrypt protectedSettings ciphertext: auto (default: when key material is found on the evidence or in keys) or true or false"`
	Keys     []string    `vfilter:"optional,field=keys,doc=Key files (accessor paths) read before the evidence's own /var/lib/waagent keys: PEM certificates and private keys or PKCS#12"`
	Password string      `vfilter:"optional,field=password,doc=Password of the PKCS#12 files in keys (default empty)"`
}

// Plugin is azure_goal_states.
type Plugin struct{}

// Info describes the plugin.
func (Plugin) Info(scope vfilter.Scope, typeMap *vfilter.TypeMap) *vfilter.PluginInfo {
	return &vfilter.PluginInfo{
		Name: PluginName,
		Doc: "One row per extension setting in every goal state on the evidence: Linux " +
			"ExtensionsConfig.<N>.xml, history folders and zips, VmSettings.json; Windows " +
			`C:\WindowsAzure\Config\*.xml and CollectGuestLogsTemp zips.`,
		ArgType: typeMap.AddType(scope, &Args{}),
		Version: 1,
	}
}

// Call runs the plugin.
func (Plugin) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) <-chan vfilter.Row {
	a := &Args{}
	return vqlkit.Run(ctx, scope, args, PluginName, a, func(out chan vfilter.Row) {
		opts := Options{Redact: true}
		if _, set := args.Get("redact"); set {
			opts.Redact = a.Redact
		}
		root := vqlkit.OpenRoot(scope, PluginName, a.Accessor, a.Root)
		if root == nil {
			return
		}
		popts, err := protected.NewOptions(a.Decrypt, a.Keys, a.Password, a.Accessor, opts.Redact)
		if err != nil {
			vqlkit.Logf(scope, PluginName, "%v", err)
			return
		}
		popts.Plugin = PluginName
		opts.Decryptor = protected.NewDecryptor(scope, root, popts)
		w := &Walker{
			Root: root,
			Opts: opts,
			Logf: func(format string, args ...interface{}) { vqlkit.Logf(scope, PluginName, format, args...) },
			Emit: func(r *Row) bool { return vqlkit.Send(ctx, out, r.Dict()) },
		}
		w.Walk(ctx)
	})
}

// Plugins returns the package's VQL plugins.
func Plugins() []vfilter.PluginGeneratorInterface {
	return []vfilter.PluginGeneratorInterface{Plugin{}}
}

// settingRow is the row of one setting of a goal-state document: the
// command from the public settings, else (decrypted) the protected ones.
func (w *Walker) settingRow(src source, doc *Doc, inc *int64, s Setting) *Row {
	cmd, note := CommandOf(s.PublicSettings)
	if note != "" && !strings.Contains(note, "shown as found") {
		w.Logf("%s: %s: %s", w.where(src), describe(s), note)
	}
	var cmdSource string
	if cmd != "" {
		cmdSource = "publicSettings"
	}
	r := &Row{
		OS:                src.os,
		Source:            src.path,
		Member:            src.member,
		Format:            doc.Format,
		Incarnation:       inc,
		ETag:              src.etag,
		Created:           doc.Created,
		Handler:           s.Handler,
		Version:           s.Version,
		State:             s.State,
		ExtensionName:     s.ExtensionName,
		SeqNo:             s.SeqNo,
		PublicSettings:    s.PublicSettings,
		Thumbprint:        s.Thumbprint,
		ProtectedSettings: s.ProtectedSettings,
		Command:           cmd,
		CommandSource:     cmdSource,
		FileUris:          FileUrisOf(s.PublicSettings),
		Mtime:             src.mtime,
	}
	if w.Opts.Redact {
		r.PublicSettings = protected.RedactSettings(r.PublicSettings)
		r.Command = redact.CommandLine(r.Command)
		if s.ProtectedKind != "" { // JSON text kept as found: not ciphertext, may hold secrets
			r.ProtectedSettings = redact.String(r.ProtectedSettings)
		}
		for i, u := range r.FileUris {
			r.FileUris[i] = redact.String(u)
		}
	}
	if s.ProtectedSettings != "" && w.Opts.Decryptor != nil {
		var dec protected.Decrypted
		if s.ProtectedKind != "" {
			dec = w.Opts.Decryptor.NotCiphertext(s.ProtectedKind)
		} else {
			dec = w.Opts.Decryptor.Decrypt(s.ProtectedSettings, s.Thumbprint)
		}
		r.ProtectedSettingsDecrypted, _ = dec.Columns()
		r.DecryptError = dec.Error
		if r.Command == "" && dec.Command != "" {
			r.Command, r.CommandSource = dec.Command, "protectedSettings"
			if dec.CommandNote != "" && !strings.Contains(dec.CommandNote, "shown as found") {
				w.Logf("%s: %s: protectedSettings: %s", w.where(src), describe(s), dec.CommandNote)
			}
		}
	}
	return r
}

// Columns are the plugin's row columns (vqlkit.Declared).
func (Plugin) Columns() []string { return Columns }

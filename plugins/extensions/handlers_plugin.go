package extensions

import (
	"context"
	"strings"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/evidence"
	"github.com/azvql/azvql/plugins/vqlkit"
	"www.velocidex.com/golang/vfilter"
)

type handlersArgs struct {
	Root     string `vfilter:"optional,field=root,doc=The root of the evidence system (/ for Linux or the C: drive for Windows) as an accessor path; default the running system's."`
	Accessor string `vfilter:"optional,field=accessor,doc=The accessor that reads the evidence (default auto)."`
}

// HandlersPlugin is azure_extension_handlers.
type HandlersPlugin struct{}

func (HandlersPlugin) Info(scope vfilter.Scope, tm *vfilter.TypeMap) *vfilter.PluginInfo {
	return &vfilter.PluginInfo{
		Name:    "azure_extension_handlers",
		Doc:     "List installed VM extension handler folders (Linux /var/lib/waagent/<Publisher.Type>-<version>, Windows C:\\Packages\\Plugins\\<Publisher.Type>\\<version>) with their state, status, sequence and process files, manifest and environment.",
		ArgType: tm.AddType(scope, &handlersArgs{}),
		Version: 1,
	}
}

func (HandlersPlugin) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) <-chan vfilter.Row {
	const name = "azure_extension_handlers"
	a := &handlersArgs{}
	return vqlkit.Run(ctx, scope, args, name, a, func(out chan vfilter.Row) {
		r := vqlkit.OpenRoot(scope, name, a.Accessor, a.Root)
		if r == nil {
			return
		}
		logf := func(f string, x ...any) { vqlkit.Logf(scope, name, f, x...) }
		for _, h := range ListHandlers(r, logf) {
			if !vqlkit.Send(ctx, out, handlerRow(r, h, logf)) {
				return
			}
		}
	})
}

// handlerState is what the sequence and process files of a handler
// folder say.
type handlerState struct {
	Mrseq     *int64
	Pid       *int64
	PidStart  string // lstart text, VM local time
	PidExists bool
}

// readHandlerState reads mrseq and pidstart (prefix "" for single-config,
// "<extName>." for multi-config).
func readHandlerState(r *evidence.Root, dir, prefix string, logf func(string, ...any)) handlerState {
	var st handlerState
	p := evidence.JoinOSPath(dir, prefix+"mrseq")
	if b, _, err := readSmall(r, p, maxStateBytes); err == nil {
		if n, ok := ParseMrseq(b); ok {
			st.Mrseq = &n
		} else {
			logf("%s: not an integer: %q", p, truncateForLog(b))
		}
	} else if !evidence.IsNotExist(err) {
		logf("%s: %v", p, err)
	}
	p = evidence.JoinOSPath(dir, prefix+"pidstart")
	if b, _, err := readSmall(r, p, maxStateBytes); err == nil {
		st.PidExists = true
		pid, started, ok := ParsePidstart(b)
		if ok {
			st.Pid = &pid
		}
		st.PidStart = started
	} else if !evidence.IsNotExist(err) {
		st.PidExists = r.Exists(p)
		logf("%s: %v", p, err)
	}
	return st
}

func truncateForLog(b []byte) string {
	if len(b) > 64 {
		b = b[:64]
	}
	return string(b)
}

func handlerRow(r *evidence.Root, h HandlerDir, logf func(string, ...any)) *ordereddict.Dict {
	var state interface{}
	p := evidence.JoinOSPath(h.ConfigDir, "HandlerState")
	if b, _, err := readSmall(r, p, maxStateBytes); err == nil {
		t, _ := evidence.DecodeText(b)
		state = strings.TrimSpace(string(t))
	} else if !evidence.IsNotExist(err) {
		logf("%s: %v", p, err)
	}

	var hstatus interface{}
	p = evidence.JoinOSPath(h.ConfigDir, "HandlerStatus")
	if b, _, err := readSmall(r, p, maxSmallDocBytes); err == nil {
		t, _ := evidence.DecodeText(b)
		if v, err := decodeJSON(t); err == nil {
			hstatus = v
		} else {
			logf("%s: %v", p, err)
		}
	} else if !evidence.IsNotExist(err) {
		logf("%s: %v", p, err)
	}

	st := readHandlerState(r, h.OSPath, "", logf)

	manifest := readHandlerJSON(r, evidence.JoinOSPath(h.OSPath, "HandlerManifest.json"), "handlerManifest", logf)
	env := readHandlerJSON(r, evidence.JoinOSPath(h.OSPath, "HandlerEnvironment.json"), "handlerEnvironment", logf)

	return ordereddict.NewDict().
		Set("OS", h.OS).
		Set("Handler", h.Handler).
		Set("Version", h.Version).
		Set("OSPath", h.OSPath).
		Set("State", state).
		Set("HandlerStatus", hstatus).
		Set("MostRecentSeq", vqlkit.Int(st.Mrseq)).
		Set("Running", st.PidExists).
		Set("Pid", vqlkit.Int(st.Pid)).
		Set("PidStart", vqlkit.Str(st.PidStart)).
		Set("Manifest", manifest).
		Set("Environment", env).
		Set("SettingsCount", countFiles(r, h.ConfigDir, ".settings", logf)).
		Set("StatusCount", countFiles(r, h.StatusDir, ".status", logf)).
		Set("Mtime", vqlkit.Time(h.Entry.Mtime))
}

func readHandlerJSON(r *evidence.Root, p, key string, logf func(string, ...any)) interface{} {
	b, trunc, err := readSmall(r, p, maxSmallDocBytes)
	if err != nil {
		if !evidence.IsNotExist(err) {
			logf("%s: %v", p, err)
		}
		return nil
	}
	if trunc {
		logf("%s: larger than %d bytes; read the start only", p, maxSmallDocBytes)
	}
	d, err := ParseHandlerJSON(b, key)
	if err != nil {
		logf("%s: %v", p, err)
		return nil
	}
	return d
}

// countFiles counts the <..>.settings / .status files of a folder; NULL
// when the folder is absent.
func countFiles(r *evidence.Root, dir, ext string, logf func(string, ...any)) interface{} {
	list, err := r.ReadDir(dir)
	if err != nil {
		if !evidence.IsNotExist(err) {
			logf("%s: %v", dir, err)
		}
		return nil
	}
	n := int64(0)
	for _, e := range list {
		if !e.IsDir && len(e.Name) > len(ext) && strings.EqualFold(e.Name[len(e.Name)-len(ext):], ext) {
			n++
		}
	}
	return n
}

package extensions

import (
	"errors"
	"sort"
	"strconv"
	"strings"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/evidence"
)

// HandlerDir is one installed handler version folder on the evidence
// system, whatever its OS.
type HandlerDir struct {
	OS        string // "Linux" or "Windows"
	Handler   string // Publisher.Type
	Version   string
	OSPath    string // the folder
	ConfigDir string // where <seq>.settings live
	StatusDir string // where <seq>.status live
	Entry     evidence.Entry
}

// Layout says where an OS keeps handler folders: Linux
// /var/lib/waagent/<Handler>-<version>/{config,status}, Windows
// C:\Packages\Plugins\<Handler>\<version>\{RuntimeSettings,Status}.
type Layout struct {
	OS   string
	List func(r *evidence.Root) ([]HandlerDir, error)
}

// Layouts are tried in order by every walker.
var Layouts = []Layout{
	{OS: "Linux", List: listLinuxHandlers},
	{OS: "Windows", List: listWindowsHandlers},
}

func listLinuxHandlers(r *evidence.Root) ([]HandlerDir, error) {
	entries, err := r.ReadDir(LinuxLibDir)
	if err != nil {
		return nil, err
	}
	var out []HandlerDir
	for _, e := range entries {
		h, v, ok := SplitLinuxHandlerDir(e.Name)
		if ok && e.IsLink {
			r.Report(evidence.CheckFile(e)) // a handler folder that is a link: evidence, not followed
		}
		if !ok || !e.IsDir || e.IsLink {
			continue
		}
		out = append(out, HandlerDir{
			OS: "Linux", Handler: h, Version: v, OSPath: e.OSPath,
			ConfigDir: evidence.JoinOSPath(e.OSPath, "config"),
			StatusDir: evidence.JoinOSPath(e.OSPath, "status"),
			Entry:     e,
		})
	}
	return out, nil
}

// ListHandlers returns every handler folder of every layout, sorted by
// OS, handler and version (numerically). Layouts whose top folder is
// absent give nothing; other errors go to logf.
func ListHandlers(r *evidence.Root, logf func(string, ...any)) []HandlerDir {
	var out []HandlerDir
	for _, l := range Layouts {
		dirs, err := l.List(r)
		if err != nil {
			if !evidence.IsNotExist(err) && !isWrongOS(err) {
				logf("%v", err)
			}
			continue
		}
		out = append(out, dirs...)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.OS != b.OS {
			return a.OS < b.OS
		}
		if !strings.EqualFold(a.Handler, b.Handler) {
			return strings.ToLower(a.Handler) < strings.ToLower(b.Handler)
		}
		return CompareVersions(a.Version, b.Version) < 0
	})
	return out
}

// isWrongOS: a path of the other OS on the running system (no root=).
func isWrongOS(err error) bool { return errors.Is(err, evidence.ErrWrongOS) }

// CompareVersions compares dotted versions numerically ("1.0.10" > "1.0.9").
func CompareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int64
		if i < len(as) {
			x, _ = strconv.ParseInt(as[i], 10, 64)
		}
		if i < len(bs) {
			y, _ = strconv.ParseInt(bs[i], 10, 64)
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return strings.Compare(a, b)
}

// Small-file caps.
const (
	maxStateBytes    = 4 << 10
	maxSmallDocBytes = 1 << 20
)

// ParseMrseq reads an mrseq file: an ASCII integer, maybe with spaces or
// a newline.
func ParseMrseq(b []byte) (int64, bool) {
	t, _ := evidence.DecodeText(b)
	n, err := strconv.ParseInt(strings.TrimSpace(string(t)), 10, 64)
	return n, err == nil
}

// ParsePidstart reads "<pid>\t<ps -o lstart= output>" (docs/formats.md §1.6).
// started is the lstart text as found: the VM's local time, zone unknown.
func ParsePidstart(b []byte) (pid int64, started string, ok bool) {
	t, _ := evidence.DecodeText(b)
	s := strings.TrimSpace(string(t))
	f := strings.FieldsFunc(s, func(r rune) bool { return r == '\t' || r == ' ' })
	if len(f) == 0 {
		return 0, "", false
	}
	pid, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return 0, s, false
	}
	rest := strings.TrimSpace(strings.TrimPrefix(s, f[0]))
	return pid, rest, true
}

// ParseHandlerJSON reads HandlerManifest.json / HandlerEnvironment.json:
// an array of one object (or a bare object) holding key (handlerManifest,
// handlerEnvironment). It returns that inner dict, or the whole first
// object when the key is missing.
func ParseHandlerJSON(b []byte, key string) (*ordereddict.Dict, error) {
	t, _ := evidence.DecodeText(b)
	v, err := decodeJSON(t)
	if err != nil {
		return nil, err
	}
	var first *ordereddict.Dict
	switch x := v.(type) {
	case []any:
		if len(x) > 0 {
			first = asDict(x[0])
		}
	case *ordereddict.Dict:
		first = x
	}
	if first == nil {
		return nil, errNotObject
	}
	if d := getDict(first, key); d != nil {
		return d, nil
	}
	return first, nil
}

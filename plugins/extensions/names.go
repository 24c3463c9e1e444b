package extensions

import (
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/azvql/azvql/plugins/catalog"
	"github.com/azvql/azvql/plugins/evidence"
)

// Linux evidence locations (docs/handlers.md).
const (
	LinuxLibDir = catalog.LinuxLibDir
)

// nonHandlerDirs are folders under /var/lib/waagent that look like, or
// sit beside, handler folders but are not: the agent's own and the
// handlers' data folders.
var nonHandlerDirs = func() map[string]bool {
	m := map[string]bool{"history": true, "events": true, "logcollector": true}
	for _, d := range catalog.DataDirNames() {
		m[strings.ToLower(d)] = true
	}
	return m
}()

// linuxHandlerDir matches "<Publisher.Type>-<version>" (at least one dot
// in the name, so the agent's own WALinuxAgent-2.x folders are skipped).
var linuxHandlerDir = regexp.MustCompile(`^([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)+)-([0-9]+(?:\.[0-9]+){0,3})$`)

// SplitLinuxHandlerDir splits a Linux handler folder name into handler
// name and version.
func SplitLinuxHandlerDir(name string) (handler, version string, ok bool) {
	if nonHandlerDirs[strings.ToLower(name)] {
		return "", "", false
	}
	m := linuxHandlerDir.FindStringSubmatch(name)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

// ParseSeqFileName splits "<seq><ext>" or "<extName>.<seq><ext>"
// (ext = ".settings" / ".status", matched case-insensitively).
func ParseSeqFileName(name, ext string) (extName string, seq int64, ok bool) {
	if len(name) <= len(ext) || !strings.EqualFold(name[len(name)-len(ext):], ext) {
		return "", 0, false
	}
	stem := name[:len(name)-len(ext)]
	num := stem
	if i := strings.LastIndexByte(stem, '.'); i >= 0 {
		extName, num = stem[:i], stem[i+1:]
		if extName == "" {
			return "", 0, false
		}
	}
	if num == "" || len(num) > 18 {
		return "", 0, false
	}
	for _, c := range num {
		if c < '0' || c > '9' {
			return "", 0, false
		}
	}
	seq, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return "", 0, false
	}
	return extName, seq, true
}

// HandlerFromPath finds the handler name and version in an evidence path
// of a file inside a handler folder:
// /var/lib/waagent/<Handler>-<version>/... (Linux) or
// C:\Packages\Plugins\<Handler>\<version>\... (Windows).
func HandlerFromPath(p string) (handler, version string) {
	ev := evidence.ParseEvPath(p)
	parts := ev.Parts
	for i := len(parts) - 2; i >= 0; i-- { // the file itself is not a handler dir
		if i+1 < len(parts) && strings.EqualFold(parts[i], "Plugins") && i+2 < len(parts) {
			if i > 0 && strings.EqualFold(parts[i-1], "Packages") {
				return parts[i+1], parts[i+2]
			}
		}
		if h, v, ok := SplitLinuxHandlerDir(parts[i]); ok {
			return h, v
		}
	}
	return "", ""
}

// OSPathFor names an accessor path as it was on the evidence system:
// when root is set and filename lies below it, the part below root in
// evidence form (Windows form when it starts with a Windows top-level
// folder); otherwise filename itself.
func OSPathFor(root, filename string) string {
	if root == "" {
		return filename
	}
	r := strings.TrimRight(strings.ReplaceAll(root, `\`, "/"), "/")
	f := strings.ReplaceAll(filename, `\`, "/")
	if !strings.HasPrefix(f, r+"/") {
		// One relative, one absolute (or not clean): compare the
		// absolute forms.
		ar, err1 := filepath.Abs(root)
		af, err2 := filepath.Abs(filename)
		if err1 != nil || err2 != nil {
			return filename
		}
		r = strings.TrimRight(filepath.ToSlash(ar), "/")
		f = filepath.ToSlash(af)
		if !strings.HasPrefix(f, r+"/") {
			return filename
		}
	}
	rel := f[len(r):]
	ev := evidence.ParseEvPath(rel)
	if len(ev.Parts) > 0 {
		switch strings.ToLower(ev.Parts[0]) {
		case "packages", "windowsazure", "windows", "programdata", "users":
			ev.Windows, ev.Drive = true, "C:"
		}
	}
	return ev.String()
}

// ParseStatusTempName recognises "<seq>.status<digits>" and
// "<extName>.<seq>.status<digits>": the temp file of a Go handler's atomic
// status write, left behind by a crash between write and rename.
func ParseStatusTempName(name string) (extName string, seq int64, ok bool) {
	i := lastIndexFoldASCII(name, ".status")
	if i < 0 {
		return "", 0, false
	}
	tail := name[i+len(".status"):]
	if tail == "" {
		return "", 0, false
	}
	for _, c := range tail {
		if c < '0' || c > '9' {
			return "", 0, false
		}
	}
	return ParseSeqFileName(name[:i+len(".status")], ".status")
}

// lastIndexFoldASCII is strings.LastIndex, ASCII case-insensitive, on the
// bytes of s as they are (strings.ToLower may change the length of
// invalid UTF-8).
func lastIndexFoldASCII(s, sub string) int {
	for i := len(s) - len(sub); i >= 0; i-- {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}

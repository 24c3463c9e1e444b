package extensions

import (
	"regexp"
	"strings"

	"github.com/azvql/azvql/plugins/catalog"
	"github.com/azvql/azvql/plugins/evidence"
)

// Windows evidence locations (docs/handlers.md).
const (
	WindowsPluginsDir = catalog.WindowsPluginsDir
)

// windowsVersionDir: a handler version folder name ("1.1.22").
var windowsVersionDir = regexp.MustCompile(`^[0-9]+(?:\.[0-9]+){0,3}$`)

// windowsHandlerName: "<Publisher>.<Type>" (at least one dot).
var windowsHandlerName = regexp.MustCompile(`^[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)+$`)

// listWindowsHandlers lists C:\Packages\Plugins\<Handler>\<version>\.
// Windows does not tell Packages from packages, so on a copy that holds
// several spellings (a case-sensitive file system) every one is listed,
// as the case-insensitive globs of azure_extension_settings find them;
// a version folder with several spellings of RuntimeSettings or Status
// gives one HandlerDir per spelling.
func listWindowsHandlers(r *evidence.Root) ([]HandlerDir, error) {
	// One spelling (the usual case): the canonical path, which the root
	// resolves case-insensitively, so paths read as they always have.
	tops := []string{`C:\`}
	for _, part := range evidence.ParseEvPath(WindowsPluginsDir).Parts { // Packages, Plugins
		var next []string
		for _, d := range tops {
			next = append(next, spellings(r, d, part)...)
		}
		tops = next
	}
	var out []HandlerDir
	for n, t := range tops {
		top, err := r.ReadDir(t)
		if err != nil {
			if n == 0 && len(tops) == 1 {
				return nil, err // the not-exist error callers expect
			}
			r.Report(err)
			continue
		}
		for _, h := range top {
			if h.IsLink && windowsHandlerName.MatchString(h.Name) {
				r.Report(evidence.CheckFile(h)) // a handler folder that is a link: reported, not followed
			}
			if !h.IsDir || h.IsLink || !windowsHandlerName.MatchString(h.Name) {
				continue
			}
			vers, err := r.ReadDir(h.OSPath)
			if err != nil {
				r.Report(err)
				continue
			}
			for _, v := range vers {
				if v.IsLink && windowsVersionDir.MatchString(v.Name) {
					r.Report(evidence.CheckFile(v))
				}
				if !v.IsDir || v.IsLink || !windowsVersionDir.MatchString(v.Name) {
					continue
				}
				cfgs, stats := spellings(r, v.OSPath, "RuntimeSettings"), spellings(r, v.OSPath, "Status")
				for i := 0; i < len(cfgs) || i < len(stats); i++ {
					out = append(out, HandlerDir{
						OS: "Windows", Handler: h.Name, Version: v.Name, OSPath: v.OSPath,
						ConfigDir: cfgs[min(i, len(cfgs)-1)],
						StatusDir: stats[min(i, len(stats)-1)],
						Entry:     v,
					})
				}
			}
		}
	}
	return out, nil
}

// spellings are the folders in dir named name in any letter case when
// there are several; else the canonical path (resolved case-insensitively).
func spellings(r *evidence.Root, dir, name string) []string {
	var found []string
	list, _ := r.ReadDir(dir)
	for _, e := range list {
		if e.IsDir && !e.IsLink && strings.EqualFold(e.Name, name) {
			found = append(found, e.OSPath)
		}
	}
	if len(found) > 1 {
		return found
	}
	return []string{evidence.JoinOSPath(dir, name)}
}

// windowsFlatScript matches Downloads\script<seq>.ps1 (RC v1 Windows).
var windowsFlatScript = regexp.MustCompile(`(?i)^script([0-9]{1,18})\.ps1$`)

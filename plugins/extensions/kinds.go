package extensions

import (
	"regexp"

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
func listWindowsHandlers(r *evidence.Root) ([]HandlerDir, error) {
	top, err := r.ReadDir(WindowsPluginsDir)
	if err != nil {
		return nil, err
	}
	var out []HandlerDir
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
			out = append(out, HandlerDir{
				OS: "Windows", Handler: h.Name, Version: v.Name, OSPath: v.OSPath,
				ConfigDir: evidence.JoinOSPath(v.OSPath, "RuntimeSettings"),
				StatusDir: evidence.JoinOSPath(v.OSPath, "Status"),
				Entry:     v,
			})
		}
	}
	return out, nil
}

// windowsFlatScript matches Downloads\script<seq>.ps1 (RC v1 Windows).
var windowsFlatScript = regexp.MustCompile(`(?i)^script([0-9]{1,18})\.ps1$`)

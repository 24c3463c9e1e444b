package extensions

import (
	"regexp"
	"strings"

	"github.com/azvql/azvql/plugins/evidence"
)

// Execution kinds (the Kind column).
const (
	KindRunCommand        = "RunCommand"        // action Run Command v1 (az vm run-command invoke)
	KindManagedRunCommand = "ManagedRunCommand" // managed Run Command v2 (runCommands resources)
	KindCustomScript      = "CustomScript"      // Custom Script Extension (v1 and v2)
)

// Working-folder layouts.
const (
	// LayoutSeq: <dir>/<seq>/ holds one run (RC v1 Linux, CSE).
	LayoutSeq = "seq"
	// LayoutNameSeq: <dir>/<name>/<seq>/ (managed Run Command v2).
	LayoutNameSeq = "name/seq"
	// LayoutFlatScript: <dir>/script<seq>.ps1, one folder shared by every
	// run and used as their working folder (Run Command v1 Windows).
	LayoutFlatScript = "flat"
)

// Windows evidence locations (FORMATS §4.1).
const (
	WindowsPluginsDir = `C:\Packages\Plugins`
)

// ExecKind describes one handler that runs code: where its runs leave
// settings, status and working folders. A new handler is one more entry
// in ExecKinds.
type ExecKind struct {
	OS      string
	Kind    string // KindRunCommand, KindManagedRunCommand, KindCustomScript
	Handler string // Publisher.Type
	// DownloadDirs are evidence paths holding the working folders (in
	// Layout); the first is the regular one, others (RC v2
	// immediateDownload) are alternatives.
	DownloadDirs []string
	// HandlerDownloadDir is a working-folder root inside each handler
	// version folder (OSTC CSE v1 "download", Windows "Downloads").
	HandlerDownloadDir string
	Layout             string
	// MultiConfig: <name>.<seq>.settings/.status, <name>.mrseq and
	// <name>.pidstart (RC v2).
	MultiConfig bool
	// ScriptNames are the fixed names of the script in a working folder;
	// RC v2 also uses the file named after source.scriptUri.
	ScriptNames []string
	StdoutNames []string
	StderrNames []string
	// RunAsDirs (RC v2 Linux): evidence globs of the runAsUser copies,
	// <dir>/<name>/<seq>/script.sh; the first "*" is the user's home.
	RunAsDirs []string
	// RootPlaceholders (RC v2 Linux shims up to 1.3.5): the placeholder
	// status written to /<name>.<seq>.status in the filesystem root.
	RootPlaceholders bool
}

// ExecKinds are the handlers azure_run_executions joins.
var ExecKinds = []ExecKind{
	{OS: "Linux", Kind: KindRunCommand, Handler: "Microsoft.CPlat.Core.RunCommandLinux",
		DownloadDirs: []string{"/var/lib/waagent/run-command/download"}, Layout: LayoutSeq,
		ScriptNames: []string{"script.sh"}, StdoutNames: []string{"stdout"}, StderrNames: []string{"stderr"}},
	{OS: "Linux", Kind: KindManagedRunCommand, Handler: "Microsoft.CPlat.Core.RunCommandHandlerLinux",
		DownloadDirs: []string{"/var/lib/waagent/run-command-handler/download", "/var/lib/waagent/run-command-handler/immediateDownload"},
		Layout:       LayoutNameSeq, MultiConfig: true,
		ScriptNames: []string{"script.sh"}, StdoutNames: []string{"stdout"}, StderrNames: []string{"stderr"},
		RunAsDirs:        []string{"/home/*/waagent/run-command-handler-runas/download"},
		RootPlaceholders: true},
	{OS: "Linux", Kind: KindCustomScript, Handler: "Microsoft.Azure.Extensions.CustomScript",
		DownloadDirs: []string{"/var/lib/waagent/custom-script/download"}, Layout: LayoutSeq,
		ScriptNames: []string{"script.sh"}, StdoutNames: []string{"stdout"}, StderrNames: []string{"stderr"}},
	{OS: "Linux", Kind: KindCustomScript, Handler: "Microsoft.OSTCExtensions.CustomScriptForLinux",
		HandlerDownloadDir: "download", Layout: LayoutSeq,
		StdoutNames: []string{"stdout"}, StderrNames: []string{"errout", "stderr"}},
	{OS: "Windows", Kind: KindRunCommand, Handler: "Microsoft.CPlat.Core.RunCommandWindows",
		HandlerDownloadDir: "Downloads", Layout: LayoutFlatScript},
	{OS: "Windows", Kind: KindManagedRunCommand, Handler: "Microsoft.CPlat.Core.RunCommandHandlerWindows",
		HandlerDownloadDir: "Downloads", Layout: LayoutNameSeq, MultiConfig: true,
		ScriptNames: []string{"script.ps1"}, StdoutNames: []string{"stdout", "stdout.txt"}, StderrNames: []string{"stderr", "stderr.txt"}},
	{OS: "Windows", Kind: KindCustomScript, Handler: "Microsoft.Compute.CustomScriptExtension",
		HandlerDownloadDir: "Downloads", Layout: LayoutSeq},
}

func findKind(os, handler string) *ExecKind {
	for i := range ExecKinds {
		k := &ExecKinds[i]
		if k.OS == os && strings.EqualFold(k.Handler, handler) {
			return k
		}
	}
	return nil
}

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

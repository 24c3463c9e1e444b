// Package catalog is what the project knows about each VM extension
// handler that runs code: its name, OS, kind, whether it is
// multi-config, the folders its runs leave evidence in, and the
// programs it runs as. Every evidence family reads it; adding a handler
// is one entry in Handlers plus a fixture (docs/handlers.md).
//
// It is a leaf package: it imports nothing of the project.
package catalog

import "strings"

// Operating systems (the OS column).
const (
	Linux   = "Linux"
	Windows = "Windows"
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

// Agent folders every handler's evidence sits under (docs/handlers.md).
const (
	LinuxLibDir       = "/var/lib/waagent"             // <Name>-<version>/ handler folders
	LinuxLogDir       = "/var/log/azure"               // <Name>/ HandlerEnvironment.logFolder
	WindowsPluginsDir = `C:\Packages\Plugins`          // <Name>\<version>\ handler folders
	WindowsLogDir     = `C:\WindowsAzure\Logs\Plugins` // <Name>\<version>\ logFolder, <Name>\Events\ eventsFolder
)

// Handler is one handler that runs code.
type Handler struct {
	Name string // Publisher.Type, as in the handler folder's name
	OS   string // Linux, Windows
	Kind string // KindRunCommand, KindManagedRunCommand, KindCustomScript
	// MultiConfig: several named extensions in one handler:
	// <name>.<seq>.settings/.status, <name>.mrseq, <name>.pidstart, and
	// agent log prefixes [<Name>.<extName>-<version>].
	MultiConfig bool

	// DataDir (Linux Go handlers): the handler's own folder under
	// LinuxLibDir, created at install; it is not a handler folder.
	DataDir string
	// DownloadDirs are evidence paths holding the working folders (in
	// Layout); the first is the regular one, others (RC v2
	// immediateDownload) are alternatives.
	DownloadDirs []string
	// HandlerDownloadDir is a working-folder root inside each handler
	// version folder (OSTC CSE v1 "download", Windows "Downloads").
	HandlerDownloadDir string
	Layout             string
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

	// LogDirs are log folders the handler writes besides its
	// HandlerEnvironment logFolder (LogFolder): the Linux Go handlers'
	// hard-coded /var/log/azure/<short name>.
	LogDirs []string
	// LogFiles are the names of the handler's own log in its log folder
	// (the agent's CommandExecution.log sits beside them).
	LogFiles []string
	// Processes are the file names of the programs the handler runs as:
	// the parent (or grandparent, through a shell) of the user's script
	// in process-creation events. Empty where no public source names it.
	Processes []string
}

// Handlers is the catalogue (docs/handlers.md gives each entry's sources).
var Handlers = []Handler{
	{Name: "Microsoft.CPlat.Core.RunCommandLinux", OS: Linux, Kind: KindRunCommand,
		DataDir:      LinuxLibDir + "/run-command",
		DownloadDirs: []string{LinuxLibDir + "/run-command/download"}, Layout: LayoutSeq,
		ScriptNames: []string{"script.sh"}, StdoutNames: []string{"stdout"}, StderrNames: []string{"stderr"},
		LogDirs: []string{LinuxLogDir + "/run-command"}, LogFiles: []string{"handler.log"},
		Processes: []string{"run-command-shim", "run-command-extension", "run-command-extension-arm64"}},
	{Name: "Microsoft.CPlat.Core.RunCommandHandlerLinux", OS: Linux, Kind: KindManagedRunCommand, MultiConfig: true,
		DataDir:      LinuxLibDir + "/run-command-handler",
		DownloadDirs: []string{LinuxLibDir + "/run-command-handler/download", LinuxLibDir + "/run-command-handler/immediateDownload"},
		Layout:       LayoutNameSeq,
		ScriptNames:  []string{"script.sh"}, StdoutNames: []string{"stdout"}, StderrNames: []string{"stderr"},
		RunAsDirs:        []string{"/home/*/waagent/run-command-handler-runas/download"},
		RootPlaceholders: true,
		LogDirs:          []string{LinuxLogDir + "/run-command-handler"},
		LogFiles:         []string{"handler.log", "ImmediateRunCommandService.log"},
		Processes:        []string{"run-command-shim", "immediate-run-command-handler"}},
	{Name: "Microsoft.Azure.Extensions.CustomScript", OS: Linux, Kind: KindCustomScript,
		DataDir:      LinuxLibDir + "/custom-script",
		DownloadDirs: []string{LinuxLibDir + "/custom-script/download"}, Layout: LayoutSeq,
		ScriptNames: []string{"script.sh"}, StdoutNames: []string{"stdout"}, StderrNames: []string{"stderr"},
		LogDirs: []string{LinuxLogDir + "/custom-script"}, LogFiles: []string{"handler.log"},
		Processes: []string{"custom-script-shim", "custom-script-extension"}},
	{Name: "Microsoft.OSTCExtensions.CustomScriptForLinux", OS: Linux, Kind: KindCustomScript,
		HandlerDownloadDir: "download", Layout: LayoutSeq,
		StdoutNames: []string{"stdout"}, StderrNames: []string{"errout", "stderr"},
		LogFiles:  []string{"extension.log"},
		Processes: []string{"customscript.py"}},
	{Name: "Microsoft.CPlat.Core.RunCommandWindows", OS: Windows, Kind: KindRunCommand,
		HandlerDownloadDir: "Downloads", Layout: LayoutFlatScript,
		LogFiles:  []string{"RunCommandExtension.log"},
		Processes: []string{"RunCommandExtension.exe"}},
	{Name: "Microsoft.CPlat.Core.RunCommandHandlerWindows", OS: Windows, Kind: KindManagedRunCommand, MultiConfig: true,
		HandlerDownloadDir: "Downloads", Layout: LayoutNameSeq,
		ScriptNames: []string{"script.ps1"}, StdoutNames: []string{"stdout", "stdout.txt"}, StderrNames: []string{"stderr", "stderr.txt"},
		LogFiles: []string{"RunCommandHandler.log"}},
	{Name: "Microsoft.Compute.CustomScriptExtension", OS: Windows, Kind: KindCustomScript,
		HandlerDownloadDir: "Downloads", Layout: LayoutSeq,
		LogFiles:  []string{"CustomScriptHandler.log"},
		Processes: []string{"CustomScriptHandler.exe"}},
}

// Lookup is the handler named name (case-insensitively) on os, or nil.
func Lookup(os, name string) *Handler {
	for i := range Handlers {
		h := &Handlers[i]
		if h.OS == os && strings.EqualFold(h.Name, name) {
			return h
		}
	}
	return nil
}

// ByName is the handler named name (case-insensitively) on any OS, or nil.
func ByName(name string) *Handler {
	for i := range Handlers {
		if strings.EqualFold(Handlers[i].Name, name) {
			return &Handlers[i]
		}
	}
	return nil
}

// ByProcess is the handler on os that runs as the program named name
// (a file name, case-insensitively), or nil.
func ByProcess(os, name string) *Handler {
	for i := range Handlers {
		h := &Handlers[i]
		if h.OS != os {
			continue
		}
		for _, p := range h.Processes {
			if strings.EqualFold(p, name) {
				return h
			}
		}
	}
	return nil
}

// ByLinuxLogDir is the handler that writes to the hard-coded log folder
// /var/log/azure/<dir> (dir is the folder's name), or nil.
func ByLinuxLogDir(dir string) *Handler {
	for i := range Handlers {
		for _, d := range Handlers[i].LogDirs {
			if base(d) == dir {
				return &Handlers[i]
			}
		}
	}
	return nil
}

// MultiConfigNames are the names of the multi-config handlers.
func MultiConfigNames() []string {
	var out []string
	for _, h := range Handlers {
		if h.MultiConfig {
			out = append(out, h.Name)
		}
	}
	return out
}

// DataDirNames are the names of the handlers' data folders under
// LinuxLibDir ("run-command"), which sit beside handler folders.
func DataDirNames() []string {
	var out []string
	for _, h := range Handlers {
		if h.DataDir != "" {
			out = append(out, base(h.DataDir))
		}
	}
	return out
}

// LogFolder is the handler's HandlerEnvironment logFolder without the
// version level that agents before 2.2.32 (Linux) and all Windows agents
// add.
func (h *Handler) LogFolder() string {
	if h.OS == Windows {
		return WindowsLogDir + `\` + h.Name
	}
	return LinuxLogDir + "/" + h.Name
}

// EventsFolder is the handler's HandlerEnvironment eventsFolder
// (extension telemetry events, *.json).
func (h *Handler) EventsFolder() string {
	if h.OS == Windows {
		return WindowsLogDir + `\` + h.Name + `\Events`
	}
	return LinuxLogDir + "/" + h.Name + "/events"
}

// HandlerFolderGlob is the evidence glob of the handler's version
// folders (handler, config and status files).
func (h *Handler) HandlerFolderGlob() string {
	if h.OS == Windows {
		return WindowsPluginsDir + `\` + h.Name + `\*`
	}
	return LinuxLibDir + "/" + h.Name + "-*"
}

func base(p string) string {
	return p[strings.LastIndexAny(p, `/\`)+1:]
}

package eventlog

import (
	"testing"

	"github.com/Velocidex/ordereddict"
)

// FuzzEventText: the text the plugins pick apart (classic PowerShell
// detail text, 4103 context, command lines, agent event data, paths)
// never panics, whatever parse_evtx hands over.
func FuzzEventText(f *testing.F) {
	f.Add("\tHostApplication=powershell -ExecutionPolicy Unrestricted -File C:\\Packages\\Plugins\\X.Y.Z\\1.0\\Downloads\\a\\0\\script.ps1\r\n\tScriptName=\r\n",
		"Microsoft.Compute.CustomScriptExtension", "1.10.18 Uninstall", int32(2))
	f.Add("        Host Application = powershell -f 'C:\\Packages\\Plugins\\A.B.C\\x.ps1'\r\n        Script Name = \r\n", "-File", "\"unterminated", int32(-1))
	f.Fuzz(func(t *testing.T, detail, a, b string, n int32) {
		classic := Event{Channel: ChanPSClassic, EventID: 400, Named: ordereddict.NewDict(), Strings: []string{a, b, detail}}
		module := Event{Channel: ChanPSOper, EventID: 4103, Named: ordereddict.NewDict().Set("ContextInfo", detail).Set("Payload", a)}
		block := Event{Channel: ChanPSOper, EventID: 4104, Named: ordereddict.NewDict().Set("MessageNumber", n).
			Set("MessageTotal", n).Set("ScriptBlockText", a).Set("ScriptBlockId", b).Set("Path", detail)}
		HandlerScripts([]Event{classic, module, block, block})
		agent := Event{Channel: "Microsoft-WindowsAzure-Status/Plugins", EventID: 7, Level: int64(n), Named: ordereddict.NewDict(), Strings: []string{a, b, detail}}
		AgentEvent(&agent)
		proc := Event{Channel: ChanSecurity, EventID: 4688, Named: ordereddict.NewDict().Set("NewProcessId", a).
			Set("ProcessId", b).Set("NewProcessName", detail).Set("ParentProcessName", a).Set("CommandLine", detail)}
		ProcessTrees([]Event{proc, proc})
		ScriptOfCommand(detail)
		HandlerOfImage(a)
		redactText(detail)
	})
}

package eventlog

import (
	"sort"
	"strings"
	"time"
)

// The join as it was before it streamed (commit 9a3a7b9): every process
// and script in hand, each execution on disk in turn taking what is left.
// TestStreamingJoinSameRows holds the Joiner to it.

func joinReference(disk []DiskExecution, procs []Process, scripts []Script, window time.Duration) []*JoinedExecution {
	var out []*JoinedExecution
	procTaken := make([]bool, len(procs))
	scriptTaken := make([]bool, len(scripts))
	for i := range disk {
		out = append(out, refJoinDisk(&disk[i], procs, scripts, procTaken, scriptTaken, window))
	}
	return append(out, refLogsOnly(procs, scripts, procTaken, scriptTaken, window)...)
}

// joinDisk takes the evidence not yet taken that belongs to x.
func refJoinDisk(x *DiskExecution, procs []Process, scripts []Script, procTaken, scriptTaken []bool, window time.Duration) *JoinedExecution {
	j := &JoinedExecution{Disk: x, Handler: x.Handler, Script: x.ScriptPath}
	trees := map[treeKey]bool{}
	for k := range procs {
		p := &procs[k]
		if procTaken[k] || p.Match == MatchDescendant || !strings.EqualFold(p.Handler, x.Handler) {
			continue
		}
		switch {
		case samePath(scriptOf(p), x.ScriptPath) || (x.ScriptPath != "" && lowerContains(p.CommandLine, x.ScriptPath)):
			j.add(ByScriptPath)
		case relativeName(scriptOf(p), x.ScriptPath) && inWindow(p.Time, x, window):
			j.add(ByScriptName)
		case inWindow(p.Time, x, window):
			j.add(ByHandlerWindow)
		default:
			continue
		}
		trees[treeOf(p)] = true
	}
	for k := range procs {
		if !procTaken[k] && trees[treeOf(&procs[k])] {
			procTaken[k] = true
			j.Procs = append(j.Procs, &procs[k])
		}
	}
	for k := range scripts {
		s := &scripts[k]
		if scriptTaken[k] || !strings.EqualFold(s.Handler, x.Handler) {
			continue
		}
		switch {
		case samePath(s.ScriptPath, x.ScriptPath):
			j.add(ByScriptPath)
		case inWindow(s.Time, x, window):
			j.add(ByHandlerWindow)
		default:
			continue
		}
		scriptTaken[k] = true
		j.Scripts = append(j.Scripts, s)
	}
	return j
}

// logsOnly groups what no execution on disk took: one execution per
// process tree, the PowerShell events of the same handler folder and
// script name (or with no script) within the window of it joining; then
// PowerShell alone.
func refLogsOnly(procs []Process, scripts []Script, procTaken, scriptTaken []bool, window time.Duration) []*JoinedExecution {
	var out []*JoinedExecution
	byTree := map[treeKey]*JoinedExecution{}
	for k := range procs {
		p := &procs[k]
		if procTaken[k] {
			continue
		}
		j := byTree[treeOf(p)]
		if j == nil {
			// The same run seen by another log (Security and Sysmon):
			// its root runs the same script within the window.
			for _, o := range out {
				if o.Folder == p.Folder && o.Procs[0].OSPath != p.OSPath && sameScript(o.Script, scriptOf(p)) &&
					!p.Time.Before(o.Start.Add(-window)) && !p.Time.After(o.End.Add(window)) {
					j = o
					break
				}
			}
		}
		if j == nil {
			j = &JoinedExecution{Handler: p.Handler, Folder: p.Folder}
			j.add(ByLogsOnly)
			out = append(out, j)
		}
		byTree[treeOf(p)] = j
		if j.Script == "" {
			j.Script = scriptOf(p)
		}
		j.extend(p.Time)
		j.Procs = append(j.Procs, p)
	}
	for k := range scripts {
		s := &scripts[k]
		if scriptTaken[k] {
			continue
		}
		var into *JoinedExecution
		for _, j := range out {
			if j.Folder == s.Folder && sameScript(j.Script, s.ScriptPath) &&
				!s.Time.Before(j.Start.Add(-window)) && !s.Time.After(j.End.Add(window)) {
				into = j
				break
			}
		}
		if into == nil {
			into = &JoinedExecution{Handler: s.Handler, Folder: s.Folder}
			into.add(ByLogsOnly)
			out = append(out, into)
		}
		if !strings.ContainsAny(into.Script, `\/`) && s.ScriptPath != "" {
			into.Script = s.ScriptPath // the full path over a relative -File name
		}
		into.extend(s.Time)
		into.Scripts = append(into.Scripts, s)
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Start.Before(out[b].Start) })
	return out
}

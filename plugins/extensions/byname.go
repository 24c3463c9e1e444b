package extensions

import (
	"github.com/azvql/azvql/plugins/catalog"
	"github.com/azvql/azvql/plugins/evidence"
)

// byName finds a working folder's own files (script, stdout, stderr) by
// name when the folder cannot be listed: a 711 folder can still be
// passed through, and what it must hold is tried rather than dropped.
func byName(r *evidence.Root, dir string, kind *catalog.Handler) []evidence.Entry {
	var out []evidence.Entry
	for _, names := range [][]string{kind.ScriptNames, kind.StdoutNames, kind.StderrNames} {
		for _, n := range names {
			if e, err := r.Lstat(evidence.JoinOSPath(dir, n)); err == nil {
				out = append(out, e)
			}
		}
	}
	return out
}

package vqlkit

import (
	"fmt"

	"github.com/azvql/azvql/plugins/evidence"
	"www.velocidex.com/golang/vfilter"
)

// Warnf writes one WARN line (Velociraptor's WARN level) to the query log.
func Warnf(scope vfilter.Scope, plugin, format string, args ...interface{}) {
	scope.Log("WARN:%s: %s", plugin, fmt.Sprintf(format, args...))
}

// OpenRoot is how a plugin that walks the agent's folders opens its
// evidence root. What is wrong with the root goes to the query log and
// OpenRoot returns nil (the plugin then emits no rows): an unknown
// accessor or a root that does not exist or cannot be read is an ERROR
// (a typo is an error, never an empty success); a root that holds no
// agent layout is a warning ("is this the root of the VM's file
// system?"). The Root reports what it skips on its own (links met while
// globbing, Root.Readable) through the same log, once per path.
func OpenRoot(scope vfilter.Scope, plugin, accessor, root string) *evidence.Root {
	r := OpenRootForFile(scope, plugin, accessor, root)
	if r == nil {
		return nil
	}
	if err := r.CheckLayout(); err != nil {
		Warnf(scope, plugin, "%v", err)
		return nil
	}
	return r
}

// OpenRootForFile is OpenRoot for a plugin told which file to read
// (filename=): the root must exist and be readable, but may be any folder
// of collected files.
func OpenRootForFile(scope vfilter.Scope, plugin, accessor, root string) *evidence.Root {
	r, err := evidence.OpenRoot(scope, accessor, root)
	if err != nil {
		Errorf(scope, plugin, "%v", err)
		return nil
	}
	r.Logf = func(format string, args ...interface{}) { Logf(scope, plugin, format, args...) }
	return r
}

// Package host builds the VQL scope the vql command runs queries in:
// vfilter's own built-ins, the Velociraptor-compatible built-ins azvql
// provides, and every azvql plugin.
package host

import (
	"log"
	"time"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins"
	"github.com/azvql/azvql/vql/builtins"
	"www.velocidex.com/golang/vfilter"
)

// Options configures a scope.
type Options struct {
	Env     *ordereddict.Dict                  // variables visible to the query
	Logger  *log.Logger                        // the query log; nil discards it
	Plugins []vfilter.PluginGeneratorInterface // extra plugins (e.g. Artifact)

	// Functions are extra functions, registered last.
	Functions []vfilter.FunctionInterface
	// Now freezes the scope's clock (what Velociraptor reads through
	// utils.GetTime(): log()'s dedup; not now(), which is the wall clock
	// in Velociraptor too); the zero time means the real clock. The
	// golden runner uses time.Unix(1590938885, 10), as Velociraptor's does.
	Now time.Time
	// Uploader receives upload() calls; nil means upload() logs
	// "upload: Uploader not configured." and returns NULL.
	Uploader Uploader
}

// Uploader is where upload() stores files (see builtins.DirUploader).
type Uploader = builtins.Uploader

// UploadRequest and UploadResponse describe one upload.
type (
	UploadRequest  = builtins.UploadRequest
	UploadResponse = builtins.UploadResponse
	DirUploader    = builtins.DirUploader
)

// GoldenTime is the instant Velociraptor's golden runner freezes time at.
var GoldenTime = time.Unix(1590938885, 10)

// NewScope returns a scope ready to run queries.
func NewScope(opts Options) vfilter.Scope {
	env := opts.Env
	if env == nil {
		env = ordereddict.NewDict()
	}
	scope := vfilter.NewScope().AppendVars(env)
	scope.AddProtocolImpl(builtins.Protocols()...)
	checkVfilterBuiltins(scope)
	scope.AppendPlugins(builtins.Plugins()...)
	scope.AppendFunctions(builtins.Functions()...)
	scope.AppendPlugins(plugins.All()...)
	scope.AppendFunctions(plugins.Functions()...)
	scope.AppendPlugins(opts.Plugins...)
	scope.AppendFunctions(opts.Functions...)
	// ORDER BY sorts (and logs a missing column) as Velociraptor's
	// query scopes do.
	scope.SetSorter(MergeSorter{ChunkSize: SortChunkSize})
	scope.SetGrouper(rowScopeGrouper{})
	if opts.Logger != nil {
		scope.SetLogger(opts.Logger)
	}
	builtins.Install(scope)
	if !opts.Now.IsZero() {
		builtins.SetClock(scope, builtins.FixedClock(opts.Now))
	}
	if opts.Uploader != nil {
		builtins.SetUploader(scope, opts.Uploader)
	}
	return scope
}

// SetUploader installs (or, with nil, removes) the scope's uploader.
func SetUploader(scope vfilter.Scope, u Uploader) { builtins.SetUploader(scope, u) }

// GetUploader returns the scope's uploader.
func GetUploader(scope vfilter.Scope) (Uploader, bool) { return builtins.GetUploader(scope) }

// SetClock freezes the scope's clock at t (the zero time restores the
// real clock).
func SetClock(scope vfilter.Scope, t time.Time) {
	if t.IsZero() {
		builtins.SetClock(scope, nil)
		return
	}
	builtins.SetClock(scope, builtins.FixedClock(t))
}

// Now is the scope's current time.
func Now(scope vfilter.Scope) time.Time { return builtins.Now(scope) }

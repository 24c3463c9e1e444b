package builtins

import (
	"context"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/evidence"
	"github.com/azvql/azvql/plugins/vqlkit"
	"www.velocidex.com/golang/evtx"
	"www.velocidex.com/golang/vfilter"
)

// ParseEvtxArgs are Velociraptor's parse_evtx() arguments (v0.75.2).
type ParseEvtxArgs struct {
	Filenames []string `vfilter:"required,field=filename,doc=Event log files (.evtx) to parse."`
	Accessor  string   `vfilter:"optional,field=accessor,doc=The accessor to use."`
	MessageDB string   `vfilter:"optional,field=messagedb,doc=An SQLite message database (Velocidex/evtx-data) to render Message from; needs an SQLite driver in the build."`
	Workers   int64    `vfilter:"optional,field=workers,doc=Accepted for compatibility; chunks are parsed in file order by one worker."`
}

// ParseEvtxPlugin is parse_evtx(): one row per event record, the Event
// element as the Velocidex library renders it (System, then EventData or
// UserData) plus Message, exactly as Velociraptor emits it. Message is
// rendered from the message database when one is given, else from the
// system's message DLLs on Windows; elsewhere it is "" (Velociraptor's
// value, kept for identical rows). Damage is logged naming the file;
// what can be read still is (see evtxWalker).
type ParseEvtxPlugin struct{}

func (ParseEvtxPlugin) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) <-chan vfilter.Row {
	arg := &ParseEvtxArgs{}
	return vqlkit.Run(ctx, scope, args, "parse_evtx", arg, func(out chan vfilter.Row) {
		var resolver evtx.MessageResolver
		var err error
		if arg.MessageDB != "" {
			resolver, err = evtx.NewDBResolver(arg.MessageDB)
		} else {
			resolver, err = evtx.GetNativeResolver()
		}
		if err != nil {
			vqlkit.Logf(scope, "parse_evtx", "messagedb %s: %v", arg.MessageDB, err)
			return
		}
		defer resolver.Close()

		acc, err := evidence.Get(scope, arg.Accessor)
		if err != nil {
			vqlkit.Logf(scope, "parse_evtx", "%v", err)
			return
		}
		for _, name := range arg.Filenames {
			if !parseEvtxFile(ctx, scope, acc, name, resolver, out) {
				return
			}
		}
	})
}

// parseEvtxFile emits one file's events; false means the query stopped.
func parseEvtxFile(ctx context.Context, scope vfilter.Scope, acc evidence.Accessor, name string,
	resolver evtx.MessageResolver, out chan vfilter.Row) bool {
	fd, err := acc.Open(name)
	if err != nil {
		scope.Log("Unable to open file %s: %v", name, err)
		return true
	}
	defer fd.Close()
	ra, size, err := readerAtOf(fd)
	if err != nil {
		scope.Log("Unable to parse file %s: %v", name, err)
		return true
	}
	w := &evtxWalker{r: ra, size: size, Issue: func(msg evtxIssue) {
		vqlkit.Logf(scope, "parse_evtx", "%s: %s", name, msg)
	}}
	stopped := false
	err = w.Walk(func(event *ordereddict.Dict) bool {
		event.Set("Message", evtx.ExpandMessage(event, resolver))
		if !vqlkit.Send(ctx, out, event) {
			stopped = true
			return false
		}
		return true
	})
	if err != nil {
		scope.Log("Unable to parse file %s: %v", name, err)
	}
	return !stopped
}

func (ParseEvtxPlugin) Info(scope vfilter.Scope, typeMap *vfilter.TypeMap) *vfilter.PluginInfo {
	return &vfilter.PluginInfo{
		Name:    "parse_evtx",
		Doc:     "Parses the events of Windows event log (.evtx) files.",
		ArgType: typeMap.AddType(scope, &ParseEvtxArgs{}),
	}
}

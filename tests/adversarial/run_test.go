//go:build unix

package adversarial

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins"
	"github.com/azvql/azvql/plugins/evidence"
	"github.com/azvql/azvql/vql/artifacts"
	"github.com/azvql/azvql/vql/golden"
	"www.velocidex.com/golang/vfilter"
	"www.velocidex.com/golang/vfilter/types"
)

// bound is how long one case (every plugin and artifact on one tree) may
// take before it counts as a hang. It is a liveness bound, not a timing
// assertion: the slowest case takes a few seconds of CPU, and a shared
// CI machine may stretch that many times over.
const bound = 3 * time.Minute

// query is one query a case runs, and the plugins it exercises.
type query struct {
	plugins []string
	vql     string
	windows bool // run on the Windows tree only (false: on both)
	linux   bool // run on the Linux tree only
}

const settingsGlobs = `['/var/lib/waagent/*/config/*.settings', '/Packages/Plugins/*/*/RuntimeSettings/*.settings']`
const statusGlobs = `['/var/lib/waagent/*/status/*.status', '/Packages/Plugins/*/*/Status/*.status']`
const logGlobs = `['/var/log/azure/*/*.log', '/var/log/azure/*/*/*.log', '/WindowsAzure/Logs/*.log', '/WindowsAzure/Logs/Plugins/*/*/*.log']`

// queries run every azvql plugin and function, and every artifact, the
// way the artifacts and analysts call them.
var queries = []query{
	{plugins: []string{"azure_extension_handlers"}, vql: `SELECT * FROM azure_extension_handlers(root=Tree, accessor=Acc)`},
	{plugins: []string{"azure_run_executions"}, vql: `SELECT * FROM azure_run_executions(root=Tree, accessor=Acc)`},
	{plugins: []string{"azure_aggregate_status"}, vql: `SELECT * FROM azure_aggregate_status(root=Tree, accessor=Acc)`},
	{plugins: []string{"azure_goal_states"}, vql: `SELECT * FROM azure_goal_states(root=Tree, accessor=Acc)`},
	{plugins: []string{"azure_extension_events"}, vql: `SELECT * FROM azure_extension_events(root=Tree, accessor=Acc)`},
	{plugins: []string{"azure_log_executions"}, vql: `SELECT * FROM azure_log_executions(root=Tree, accessor=Acc)`},
	{plugins: []string{"azure_waagent_log"}, vql: `SELECT * FROM azure_waagent_log(root=Tree, accessor=Acc)`, linux: true},
	{plugins: []string{"azure_extension_settings"}, vql: `SELECT * FROM foreach(row={SELECT OSPath FROM glob(globs=` + settingsGlobs + `, root=Tree)},
		query={SELECT * FROM azure_extension_settings(filename=OSPath, root=Tree, accessor=Acc)})`},
	{plugins: []string{"azure_extension_status"}, vql: `SELECT * FROM foreach(row={SELECT OSPath FROM glob(globs=` + statusGlobs + `, root=Tree)},
		query={SELECT * FROM azure_extension_status(filename=OSPath, root=Tree, accessor=Acc)})`},
	{plugins: []string{"azure_handler_log"}, vql: `SELECT * FROM foreach(row={SELECT OSPath FROM glob(globs=` + logGlobs + `, root=Tree)},
		query={SELECT * FROM azure_handler_log(filename=OSPath, root=Tree, accessor=Acc)})`},
	{plugins: []string{"azure_handler_log"}, vql: `SELECT * FROM azure_handler_log(filename='C:\\WindowsAzure\\Logs\\WaAppAgent.log', root=Tree, accessor=Acc)`, windows: true},
	{plugins: []string{"azure_decrypt"}, vql: `SELECT azure_decrypt(data=Blob, root=Tree, accessor=Acc) AS D FROM scope()`, linux: true},
	// Activity Log exports are handed over as files: every file of the
	// hostile tree is offered as one (links and FIFOs among them).
	// Disk images in the tree (named like one, whatever they hold) read
	// by azure_mft_entries; the base trees hold none.
	{plugins: []string{"azure_mft_entries"}, vql: `SELECT * FROM foreach(row={SELECT OSPath FROM glob(globs=['/**/*.img', '/**/*.vhd'], root=Tree)},
		query={SELECT * FROM azure_mft_entries(image=OSPath)})`},
	{plugins: []string{"azure_mft_settings", "azure_mft_status", "azure_mft_executions"}, vql: `SELECT * FROM foreach(row={SELECT OSPath FROM glob(globs=['/**/*.vhd', '/**/*.img'], root=Tree)},
		query={SELECT * FROM chain(a={SELECT * FROM azure_mft_settings(image=OSPath)}, b={SELECT * FROM azure_mft_status(image=OSPath)},
			c={SELECT * FROM azure_mft_executions(image=OSPath)})})`},
	{plugins: []string{"azure_usn_entries"}, vql: `SELECT * FROM foreach(row={SELECT OSPath FROM glob(globs='/**/$J', root=Tree)},
		query={SELECT * FROM azure_usn_entries(filename=OSPath, root=Tree, accessor=Acc)})`},
	// The timeline calls the plugins above on the tree; spilled every
	// few rows, so the merge and its temp files are exercised on every
	// case too.
	{plugins: []string{"azure_timeline"}, vql: `SELECT * FROM chain(a={SELECT * FROM azure_timeline(root=Tree, accessor=Acc, run_bytes=4096)},
		b={SELECT * FROM azure_timeline(root=Tree, accessor=Acc, undated=TRUE)})`},
	{plugins: []string{"azure_activity_log"}, vql: `SELECT * FROM foreach(row={SELECT OSPath FROM glob(globs='/**', root=Tree) WHERE NOT IsDir},
		query={SELECT * FROM azure_activity_log(filename=OSPath, root=Tree, accessor=Acc)})`},
	{plugins: []string{"azure_activity_operations"}, vql: `SELECT * FROM foreach(row={SELECT OSPath FROM glob(globs='/**', root=Tree) WHERE NOT IsDir},
		query={SELECT * FROM azure_activity_operations(filename=OSPath, root=Tree, accessor=Acc)})`},
	{plugins: []string{"azure_activity_correlate"}, vql: `SELECT * FROM foreach(row={SELECT OSPath FROM glob(globs='/**', root=Tree) WHERE NOT IsDir},
		query={SELECT * FROM azure_activity_correlate(filename=OSPath, root=Tree, accessor=Acc)})`},
	// Event logs and the journal are read through the host's parsers;
	// every file of the tree is also offered as a journal (links and
	// FIFOs among them).
	{plugins: []string{"azure_agent_events"}, vql: `SELECT * FROM azure_agent_events(root=Tree, accessor=Acc)`},
	{plugins: []string{"azure_handler_processes"}, vql: `SELECT * FROM azure_handler_processes(root=Tree, accessor=Acc)`},
	{plugins: []string{"azure_handler_powershell"}, vql: `SELECT * FROM azure_handler_powershell(root=Tree, accessor=Acc)`},
	{plugins: []string{"azure_eventlog_executions"}, vql: `SELECT * FROM azure_eventlog_executions(root=Tree, accessor=Acc,
		executions={SELECT * FROM azure_run_executions(root=Tree, accessor=Acc)})`},
	{plugins: []string{"azure_eventlog_summary"}, vql: `SELECT * FROM azure_eventlog_summary(root=Tree, accessor=Acc)`},
	{plugins: []string{"azure_waagent_journal"}, vql: `SELECT * FROM azure_waagent_journal(root=Tree, accessor=Acc)`, linux: true},
	{plugins: []string{"azure_waagent_journal"}, vql: `SELECT * FROM foreach(row={SELECT OSPath FROM glob(globs='/**', root=Tree) WHERE NOT IsDir},
		query={SELECT * FROM azure_waagent_journal(filename=OSPath, root=Tree, accessor=Acc)})`, linux: true},
	{vql: `SELECT * FROM Artifact.Windows.Azure.EventLogs(Root=Tree)`, windows: true},
	{vql: `SELECT * FROM Artifact.Generic.Azure.Executions(Root=Tree)`},
	{vql: `SELECT * FROM Artifact.Linux.Azure.RunCommand(Root=Tree)`, linux: true},
	{vql: `SELECT * FROM Artifact.Linux.Azure.CustomScript(Root=Tree)`, linux: true},
	{vql: `SELECT * FROM Artifact.Linux.Azure.AgentLogs(Root=Tree)`, linux: true},
	{vql: `SELECT * FROM Artifact.Linux.Azure.HandlerLogs(Root=Tree)`, linux: true},
	{vql: `SELECT * FROM Artifact.Linux.Azure.GoalStates(Root=Tree)`, linux: true},
	{vql: `SELECT * FROM Artifact.Windows.Azure.RunCommand(Root=Tree)`, windows: true},
	{vql: `SELECT * FROM Artifact.Windows.Azure.CustomScript(Root=Tree)`, windows: true},
	{vql: `SELECT * FROM Artifact.Windows.Azure.AgentLogs(Root=Tree)`, windows: true},
	{vql: `SELECT * FROM Artifact.Windows.Azure.GoalStates(Root=Tree)`, windows: true},
}

// TestEveryPluginIsRun keeps the suite honest: a new plugin or function
// must be added to queries, or this fails.
func TestEveryPluginIsRun(t *testing.T) {
	run := map[string]bool{}
	for _, q := range queries {
		for _, p := range q.plugins {
			run[p] = true
		}
	}
	scope := vfilter.NewScope()
	tm := types.NewTypeMap()
	for _, p := range plugins.All() {
		if n := p.Info(scope, tm).Name; !run[n] {
			t.Errorf("plugin %s is not run by the adversarial suite", n)
		}
	}
	for _, f := range plugins.Functions() {
		if n := f.Info(scope, tm).Name; strings.HasPrefix(n, "azure_") && !run[n] {
			t.Errorf("function %s is not run by the adversarial suite", n)
		}
	}
}

var (
	repoOnce sync.Once
	repo     *artifacts.Repository
	repoErr  error
)

func repository(t *testing.T) *artifacts.Repository {
	repoOnce.Do(func() {
		src, err := filepath.Abs(filepath.Join("..", ".."))
		if err != nil {
			repoErr = err
			return
		}
		repo, repoErr = golden.LoadRepository(src, nil)
	})
	if repoErr != nil {
		t.Fatal(repoErr)
	}
	return repo
}

// blob is a protectedSettings ciphertext of the demo VM (seq 0).
func blob(t *testing.T) string {
	b, err := os.ReadFile(filepath.Join("..", "fixtures", "linux", filepath.FromSlash(handler[1:]), "config", "0.settings"))
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		RuntimeSettings []struct {
			HandlerSettings struct {
				ProtectedSettings string `json:"protectedSettings"`
			} `json:"handlerSettings"`
		} `json:"runtimeSettings"`
	}
	if err := json.Unmarshal(b, &s); err != nil || len(s.RuntimeSettings) == 0 {
		t.Fatalf("0.settings: %v", err)
	}
	return s.RuntimeSettings[0].HandlerSettings.ProtectedSettings
}

// result is what one case produced.
type result struct {
	rows map[string][]*ordereddict.Dict // by query
	text string                         // every row as JSON, and the log
	log  string
}

// rowsOf are the rows of the query that starts with prefix.
func (r result) rowsOf(prefix string) []*ordereddict.Dict {
	for q, rows := range r.rows {
		if strings.HasPrefix(q, prefix) {
			return rows
		}
	}
	return nil
}

type logBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// runAll runs every query on the tree (only the plugin queries when
// plugins is set) within bound; ok is false on a hang.
func runAll(t *testing.T, tr *tree, rootArg, accessor string, plugins bool) (result, bool) {
	lb := &logBuf{}
	env := ordereddict.NewDict().Set("Tree", rootArg).Set("Acc", accessor).Set("Blob", blob(t))
	scope := golden.NewScope(env, log.New(lb, "", 0), repository(t))
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	res := result{rows: map[string][]*ordereddict.Dict{}}
	var text strings.Builder
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, q := range queries {
			if (q.windows && !tr.windows) || (q.linux && tr.windows) || (plugins && len(q.plugins) == 0) {
				continue
			}
			vql, err := vfilter.Parse(q.vql)
			if err != nil {
				t.Errorf("%s: %v", q.vql, err)
				return
			}
			var rows []*ordereddict.Dict
			start := time.Now()
			for r := range vql.Eval(ctx, scope) {
				rows = append(rows, vfilter.RowToDict(ctx, scope, r))
			}
			res.rows[q.vql] = rows
			if d := time.Since(start); d > time.Second && os.Getenv("ADVERSARIAL_TIMES") != "" {
				t.Logf("%v: %s", d, q.vql)
			}
			b, err := json.Marshal(rows)
			if err != nil {
				t.Errorf("%s: %v", q.vql, err)
			}
			text.Write(b)
		}
	}()
	select {
	case <-done:
	case <-time.After(bound + 10*time.Second):
		return res, false
	}
	scope.Close()
	res.log = lb.String()
	res.text = text.String() + "\n" + res.log
	return res, true
}

// dacAccessor is the OS seen by an analyst who is not root and does not
// own the evidence: a folder without read permission for others cannot
// be listed (but can be passed through with x), a file without it
// cannot be opened. CI runs as root, which the kernel lets read
// anything; this reproduces what the kernel does to everyone else, so
// the unreadable-folder cases run (and mean the same) under both.
type dacAccessor struct{ os evidence.OSAccessor }

func (a dacAccessor) Lstat(p string) (evidence.FileInfo, error) { return a.os.Lstat(p) }
func (a dacAccessor) Join(d, n string) string                   { return a.os.Join(d, n) }
func (a dacAccessor) Readlink(p string) (string, error)         { return a.os.Readlink(p) }

func (a dacAccessor) ReadDir(p string) ([]evidence.FileInfo, error) {
	if st, err := os.Stat(p); err == nil && st.IsDir() && st.Mode().Perm()&0o004 == 0 {
		return nil, &fs.PathError{Op: "open", Path: p, Err: syscall.EACCES}
	}
	return a.os.ReadDir(p)
}

func (a dacAccessor) Open(p string) (evidence.File, error) {
	if st, err := os.Lstat(p); err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o004 == 0 {
		return nil, &fs.PathError{Op: "open", Path: p, Err: syscall.EACCES}
	}
	return a.os.Open(p)
}

func init() {
	evidence.Register("adversarial_dac", func(vfilter.Scope) (evidence.Accessor, error) { return dacAccessor{}, nil })
}

// Figures over the whole suite, printed by TestMain.
var figures struct {
	sync.Mutex
	cases, hangs, outside, silent, unexpected int
}

func count(f *int) {
	figures.Lock()
	*f++
	figures.Unlock()
}

func TestMain(m *testing.M) {
	code := m.Run()
	if tmplDir != "" {
		os.RemoveAll(tmplDir)
	}
	if figures.cases > 0 {
		fmt.Printf("adversarial suite: %d cases; hangs %d, reads outside Root %d, silent drops %d, unexpected exits %d\n",
			figures.cases, figures.hangs, figures.outside, figures.silent, figures.unexpected)
	}
	os.Exit(code)
}

var markerSHA = func() string {
	for _, c := range []string{marker + "\n"} {
		s := sha256.Sum256([]byte(c))
		return hex.EncodeToString(s[:])
	}
	return ""
}()

// Package golden runs golden-output testcases exactly as Velociraptor's
// `velociraptor golden` does (bin/golden.go in v0.75.2): every
// NAME.in.yaml (Parameters:, Queries:) under a folder is run in a fresh
// scope with the clock frozen at Unix 1590938885, each query's rows are
// batched by vfilter.GetResponseChannel (1000 rows a batch) and encoded
// as Velociraptor's MarshalJsonIndent does, and the text
//
//	Query: <query>
//	Output: <json>
//	<blank line>
//
// is compared with NAME.out.yaml.
package golden

import (
	"context"
	"fmt"
	"github.com/azvql/azvql/internal/fixtures"
	"io"
	"log"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/vql/artifacts"
	"github.com/azvql/azvql/vql/host"
	"github.com/azvql/azvql/vql/output"
	"www.velocidex.com/golang/vfilter"
)

// FrozenTime is the time golden tests run at: Monday, May 31, 2020
// 3:28:05 PM UTC (and 10ns), as in Velociraptor.
var FrozenTime = host.GoldenTime

// FatalLogMessagesRegex fail a testcase when a log line matches, as in
// Velociraptor: they catch VQL errors that still produce output.
var FatalLogMessagesRegex = []string{
	"(?i)Symbol .+ not found",
	"(?i)Field .+ Expecting a .+ arg type, not",
	"(?i)Artifact .+ not found",
	"(?i)Order by column .+ not present in row",
	"PANIC runtime error:",
	"Extra unrecognized arg",
}

// ExtraFatalLogMessagesRegex are azvql's additions: mistakes that
// Velociraptor's runner lets through as an empty result.
var ExtraFatalLogMessagesRegex = []string{
	"Plugin .+ not found",
	"(?i)Unknown parameter .+ provided to artifact",
	`unexpected argument ".+" \(valid arguments`,
	`missing required argument ".+" \(valid arguments`,
	"Source .+ not found in artifact",
	"Artifact .+ invalid:",
}

var unsettableTimeRegex = regexp.MustCompile(`"(Atime|Ctime|Btime)":`)

// Options configures a run.
type Options struct {
	// Dir holds the testcases (searched recursively).
	Dir string

	// Filter keeps testcases whose file name starts with it.
	Filter string

	// Update rewrites every NAME.out.yaml with this run's output.
	Update bool

	// WriteMissing writes NAME.out.yaml when there is none (the
	// testcase then passes, reported as new); without it a missing
	// output file is a failure.
	WriteMissing bool

	// SrcDir is the repository root given to queries as srcDir;
	// empty means the folder holding go.mod above Dir.
	SrcDir string

	// Env is set in the scope before the testcase's Parameters.
	Env map[string]string

	// Repository provides the artifacts (Artifact.X()); nil: none.
	Repository *artifacts.Repository

	// Out receives progress, diffs and, with Verbose, the query log.
	Out     io.Writer
	Verbose bool

	// Timeout bounds one testcase (default 60 s).
	Timeout time.Duration
}

// Result is the outcome of one testcase.
type Result struct {
	File   string // NAME.in.yaml
	Status string // "ok", "new", "updated", "failed"
	Diff   string // for a mismatch
	Err    error  // for a failure
}

// Failed is true for a testcase that did not pass.
func (r Result) Failed() bool { return r.Status == "failed" }

// FindSrcDir returns the absolute folder holding go.mod at or above dir.
func FindSrcDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := abs; ; {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("no go.mod at or above %s: pass srcDir with --env srcDir=DIR", abs)
		}
		d = parent
	}
}

// ListTestcases returns the sorted NAME.in.yaml files under dir whose
// base name starts with filter (Velociraptor's --filter is a prefix).
func ListTestcases(dir, filter string) ([]string, error) {
	var paths []string
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if filter != "" && !strings.HasPrefix(filepath.Base(path), filter) {
			return nil
		}
		if !info.IsDir() && strings.HasSuffix(path, ".in.yaml") {
			paths = append(paths, path)
		}
		return nil
	})
	sort.Strings(paths)
	return paths, err
}

// Run runs every testcase; the error is for the run as a whole (no
// testcases, a bad manifest); per-testcase failures are in the results.
func Run(opts Options) ([]Result, error) {
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if opts.Timeout == 0 {
		opts.Timeout = 60 * time.Second
	}
	if opts.SrcDir == "" {
		if v, ok := opts.Env["srcDir"]; ok {
			opts.SrcDir = v
		} else {
			src, err := FindSrcDir(opts.Dir)
			if err != nil {
				return nil, err
			}
			opts.SrcDir = src
		}
	}

	// Fixture file times first: the queries may depend on them.
	if err := fixtures.ApplyAll(filepath.Join(opts.SrcDir, "tests", "fixtures")); err != nil {
		return nil, fmt.Errorf("applying fixture time manifests: %w", err)
	}

	paths, err := ListTestcases(opts.Dir, opts.Filter)
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no testcases (*.in.yaml) in %s", opts.Dir)
	}
	fmt.Fprintf(opts.Out, "Testing %v test cases\n", len(paths))

	var results []Result
	for _, path := range paths {
		results = append(results, runOne(opts, path))
	}
	return results, nil
}

func runOne(opts Options, path string) Result {
	res := Result{File: path}
	fail := func(err error) Result {
		res.Status = "failed"
		res.Err = err
		fmt.Fprintf(opts.Out, "FAIL %v: %v\n", path, err)
		return res
	}

	data, err := os.ReadFile(path)
	if err != nil {
		return fail(err)
	}
	fixture, err := ParseFixture(data)
	if err != nil {
		return fail(fmt.Errorf("Unmarshal input file: %w", err))
	}

	result, err := RunFixture(opts, &fixture)
	if err != nil {
		return fail(err)
	}

	outfile := strings.Replace(path, ".in.", ".out.", -1)
	want, err := os.ReadFile(outfile)
	switch {
	case err == nil:
		if strings.TrimSpace(string(want)) == strings.TrimSpace(result) {
			res.Status = "ok"
			break
		}
		if opts.Update {
			res.Status = "updated"
			break
		}
		res.Status = "failed"
		res.Diff = Diff(outfile, "(this run)", string(want), result)
		res.Err = fmt.Errorf("output differs from %s", outfile)
		fmt.Fprintf(opts.Out, "Failed %v:\n%s\n", path, res.Diff)
		return res

	case os.IsNotExist(err):
		if !opts.Update && !opts.WriteMissing {
			return fail(fmt.Errorf("no golden file %s (run `vql golden --update`)", outfile))
		}
		res.Status = "new"
		fmt.Fprintf(opts.Out, "New file for %v\n", path)

	default:
		return fail(err)
	}

	if res.Status != "ok" {
		if err := os.WriteFile(outfile, []byte(result), 0666); err != nil {
			return fail(fmt.Errorf("Unable to write golden file: %w", err))
		}
	}
	fmt.Fprintf(opts.Out, "%-7s %v\n", strings.ToUpper(res.Status), path)
	return res
}

// memoryLog keeps the query log of one testcase.
type memoryLog struct {
	mu    sync.Mutex
	lines []string // not yet read by test_read_logs()
	echo  io.Writer
}

func (l *memoryLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, string(b))
	if l.echo != nil {
		_, _ = io.WriteString(l.echo, strings.TrimPrefix(string(b), logPrefix))
	}
	return len(b), nil
}

// take returns the lines logged since the last take.
func (l *memoryLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	res := l.lines
	l.lines = nil
	return res
}

// logPrefix is the prefix of Velociraptor's golden log lines, so that
// test_read_logs() rows are the same under both.
const logPrefix = "Velociraptor: "

// readLogsPlugin is Velociraptor's golden-only test_read_logs(): the
// log lines so far (then forgotten), one row {Log: line} each.
type readLogsPlugin struct{ log *memoryLog }

func (p readLogsPlugin) Call(ctx context.Context, scope vfilter.Scope,
	args *ordereddict.Dict) <-chan vfilter.Row {
	out := make(chan vfilter.Row)
	go func() {
		defer close(out)
		for _, line := range p.log.take() {
			select {
			case <-ctx.Done():
				return
			case out <- ordereddict.NewDict().Set("Log", line):
			}
		}
	}()
	return out
}

func (p readLogsPlugin) Info(scope vfilter.Scope, typeMap *vfilter.TypeMap) *vfilter.PluginInfo {
	return &vfilter.PluginInfo{
		Name:    "test_read_logs",
		Doc:     "Read logs in golden test.",
		ArgType: typeMap.AddType(scope, vfilter.Null{}),
		Version: 1,
	}
}

func (l *memoryLog) Matches(pattern string) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	re, err := regexp.Compile(pattern)
	if err != nil {
		return "", err
	}
	// As in Velociraptor, lines a test read with test_read_logs()
	// (it expected them) are no longer checked.
	for _, line := range l.lines {
		if re.FindString(line) != "" {
			return line, nil
		}
	}
	return "", nil
}

// NewScope builds the scope a testcase runs in: the host's scope with
// env, the frozen clock and the artifacts.
func NewScope(env *ordereddict.Dict, logger *log.Logger,
	repository *artifacts.Repository, plugins ...vfilter.PluginGeneratorInterface) vfilter.Scope {
	scope := host.NewScope(host.Options{Env: env, Logger: logger, Now: FrozenTime,
		Plugins: plugins})
	if repository != nil {
		artifacts.Install(scope, repository)
	}
	return scope
}

// RunFixture runs one testcase and returns the golden text.
func RunFixture(opts Options, fixture *Fixture) (string, error) {
	logs := &memoryLog{}
	if opts.Verbose {
		logs.echo = opts.Out
	}

	env := ordereddict.NewDict().Set("srcDir", opts.SrcDir)
	keys := make([]string, 0, len(opts.Env))
	for k := range opts.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env.Set(k, opts.Env[k])
	}
	params := make([]string, 0, len(fixture.Parameters))
	for k := range fixture.Parameters {
		params = append(params, k)
	}
	sort.Strings(params)
	for _, k := range params {
		env.Set(k, fixture.Parameters[k])
	}

	scope := NewScope(env, log.New(logs, logPrefix, 0), opts.Repository,
		readLogsPlugin{log: logs})
	defer scope.Close()

	ctx, cancel := context.WithTimeout(context.Background(), opts.Timeout)
	defer cancel()

	encoder := func(rows []vfilter.Row) ([]byte, error) {
		return output.MarshalJSONIndentForScope(scope, rows)
	}

	result := ""
	for _, query := range fixture.Queries {
		if query.Comment != "" {
			result += query.Comment + "\n"
		}
		result += fmt.Sprintf("Query: %v\n", query.Query)
		scope.Log("Running query %v", query.Query)
		vql, err := vfilter.Parse(query.Query)
		if err != nil {
			return "", err
		}

		batches := vfilter.GetResponseChannel(vql, ctx, scope, encoder, 1000, 1000)
		for batch := range batches {
			result += fmt.Sprintf("Output: %v\n\n", string(batch.Payload))
		}
		if ctx.Err() != nil {
			return "", fmt.Errorf("timed out after %v in query %v", opts.Timeout, query.Query)
		}
	}

	// Access, change and birth times can not be set from a manifest,
	// so a golden file holding them would differ on every checkout.
	if m := unsettableTimeRegex.FindString(result); m != "" {
		return "", fmt.Errorf("output holds %s: atime/ctime/btime can not be set from a "+
			"fixture manifest, leave the column out of the query", strings.TrimSuffix(m, ":"))
	}

	for _, msg := range append(FatalLogMessagesRegex, ExtraFatalLogMessagesRegex...) {
		line, err := logs.Matches(msg)
		if err != nil {
			return "", err
		}
		if line != "" {
			return "", fmt.Errorf("Log out matches %q: %s", msg, strings.TrimSpace(line))
		}
	}
	return result, nil
}

// LoadRepository loads the artifacts golden tests see: the embedded
// ones, those under dirs (--definitions) and the test-only artifacts
// in srcDir/tests/artifacts_fixtures. Any error is fatal: a test must
// not run against a partial repository.
func LoadRepository(srcDir string, dirs []string) (*artifacts.Repository, error) {
	dirs = append([]string{}, dirs...)
	fixtures := filepath.Join(srcDir, "tests", "artifacts_fixtures")
	if st, err := os.Stat(fixtures); err == nil && st.IsDir() {
		dirs = append(dirs, fixtures)
	}
	repo, errs := artifacts.NewStandardRepository(dirs)
	if len(errs) > 0 {
		var msgs []string
		for _, err := range errs {
			msgs = append(msgs, err.Error())
		}
		return nil, fmt.Errorf("loading artifacts:\n  %s", strings.Join(msgs, "\n  "))
	}
	return repo, nil
}

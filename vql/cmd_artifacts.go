package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/vql/artifacts"
	"github.com/azvql/azvql/vql/builtins"
	"github.com/azvql/azvql/vql/exchange"
	"github.com/azvql/azvql/vql/host"
	"github.com/azvql/azvql/vql/output"
	"www.velocidex.com/golang/vfilter"
)

var (
	artifactsCmd = app.Command("artifacts", "List, show, collect and verify artifacts (embedded, plus --definitions).")

	artifactsList        = artifactsCmd.Command("list", "Print the names of the artifacts.")
	artifactsListPattern = artifactsList.Arg("pattern",
		"Only names matching this regex, anchored, where * means .* (as Velociraptor): 'Linux.*', '.*RunCommand'.").String()

	artifactsShow     = artifactsCmd.Command("show", "Print an artifact's YAML and the VQL it compiles to.")
	artifactsShowName = artifactsShow.Arg("name", "Artifact name (Name or Name/Source).").Required().String()

	artifactsCollect      = artifactsCmd.Command("collect", "Collect artifacts on this machine or evidence tree.")
	artifactsCollectNames = artifactsCollect.Arg("name", "Artifacts to collect.").Required().Strings()
	artifactsCollectArgs  = artifactsCollect.Flag("args",
		"Artifact parameter K=V (repeat; Artifact::K=V for one artifact; K alone means Y).").Strings()
	artifactsCollectFormat = artifactsCollect.Flag("format",
		"Row format: json, jsonl, csv (table too on stdout). With --output, json and jsonl write "+
			"Velociraptor's collection layout (JSON lines in results/NAME.json); csv adds results/NAME.csv; "+
			"timesketch (Timesketch JSONL) and bodyfile (Sleuth Kit mactime) add results/NAME.timesketch.jsonl / NAME.body.").
		Default("json").Enum("json", "jsonl", "csv", "table", "timesketch", "bodyfile")
	artifactsCollectOutput = artifactsCollect.Flag("output",
		"Write the collection to this folder (results/, uploads/, log.json) instead of stdout; a name "+
			"ending in .zip writes a Velociraptor offline-collection container that a server imports "+
			"with import_collection() (docs/exchange.md).").String()
	artifactsCollectEscape = artifactsCollect.Flag("exchange-escape",
		"For exchange editions: prefix top-level strings Velociraptor would parse as times with ~ (and those starting with ~).").
		Hidden().Bool()
	artifactsCollectTimeout = artifactsCollect.Flag("timeout", "Stop the collection after this long (0: no limit).").
				Default("0").Duration()

	artifactsVerify      = artifactsCmd.Command("verify", "Check artifact files: schema, VQL, plugins, functions, args, imports, parameter types.")
	artifactsVerifyFiles = artifactsVerify.Arg("file", "Artifact YAML files (default: every embedded and --definitions artifact).").Strings()
	artifactsVerifyStock = artifactsVerify.Flag("stock",
		"Verify against stock Velociraptor v0.75.2's VQL (its plugins, functions and args, and "+
			"Generic.Utils.FetchBinary) instead of this host's: for exchange editions. Default files: "+
			"those under --definitions.").Bool()
)

func init() {
	commandHandlers = append(commandHandlers, func(command string) (bool, error) {
		switch command {
		case artifactsList.FullCommand():
			return true, doArtifactsList(os.Stdout)
		case artifactsShow.FullCommand():
			return true, doArtifactsShow(os.Stdout)
		case artifactsCollect.FullCommand():
			return true, doArtifactsCollect()
		case artifactsVerify.FullCommand():
			return true, doArtifactsVerify(os.Stdout, os.Stderr)
		}
		return false, nil
	})
}

// loadRepository loads the embedded artifacts and --definitions. A
// broken --definitions file is an error; a broken embedded artifact is
// reported and skipped (verify names it).
func loadRepository() (*artifacts.Repository, error) {
	repo, errs := artifacts.NewStandardRepository(*definitions)
	var fatal []error
	for _, err := range errs {
		if strings.HasPrefix(err.Error(), "embedded:") {
			fmt.Fprintf(os.Stderr, "vql: warning: %v\n", err)
			continue
		}
		fatal = append(fatal, err)
	}
	return repo, errors.Join(fatal...)
}

// newArtifactScope is the host scope with Artifact.* installed.
func newArtifactScope(repo *artifacts.Repository, env *ordereddict.Dict,
	logger *log.Logger, uploader host.Uploader) vfilter.Scope {
	scope := host.NewScope(host.Options{Env: env, Logger: logger, Uploader: uploader})
	artifacts.Install(scope, repo)
	return scope
}

// nameRegex is Velociraptor's getFilterRegEx: * becomes .*, anchored.
func nameRegex(pattern string) (*regexp.Regexp, error) {
	pattern = strings.Replace(pattern, "*", ".*", -1)
	return regexp.Compile("^" + pattern + "$")
}

func doArtifactsList(w io.Writer) error {
	repo, err := loadRepository()
	if err != nil {
		return err
	}
	var re *regexp.Regexp
	if *artifactsListPattern != "" {
		re, err = nameRegex(*artifactsListPattern)
		if err != nil {
			return fmt.Errorf("Artifact name regex not valid: %w", err)
		}
	}
	for _, name := range repo.List() {
		if re != nil && re.FindString(name) == "" {
			continue
		}
		fmt.Fprintln(w, name)
	}
	return nil
}

// printRequests prints compiled requests as readable VQL.
func printRequests(w io.Writer, requests []*artifacts.Request) {
	for i, r := range requests {
		fmt.Fprintf(w, "-- Request %d of %d: %s\n", i+1, len(requests), r.Artifact)
		if r.Precondition != "" {
			fmt.Fprintf(w, "-- Precondition (must return a row):\n%s\n",
				strings.TrimSpace(r.Precondition))
		}
		fmt.Fprintln(w, "-- Parameters (strings, before conversion):")
		for _, e := range r.Env {
			comment := ""
			if e.Comment != "" {
				comment = "  -- " + e.Comment
			}
			fmt.Fprintf(w, "--   %s = %q%s\n", e.Key, e.Value, comment)
		}
		for _, q := range r.Queries {
			if q.Name != "" {
				fmt.Fprintf(w, "-- Results of %s:\n", q.Name)
			}
			fmt.Fprintln(w, strings.TrimSpace(q.VQL))
		}
		fmt.Fprintln(w)
	}
}

func doArtifactsShow(w io.Writer) error {
	repo, err := loadRepository()
	if err != nil {
		return err
	}
	artifact, pres := repo.Get(*artifactsShowName)
	if !pres {
		return fmt.Errorf("Artifact %s not found", *artifactsShowName)
	}
	fmt.Fprintln(w, strings.TrimRight(artifact.Raw, "\n"))
	fmt.Fprintln(w)

	fmt.Fprintln(w, "# Compiled VQL, as collected (preconditions on):")
	requests, err := repo.Compile(*artifactsShowName, nil, artifacts.CompilerOptions{})
	if err != nil {
		return fmt.Errorf("Unable to compile artifact: %w", err)
	}
	var b strings.Builder
	printRequests(&b, requests)
	for _, line := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
		fmt.Fprintln(w, "# "+line)
	}
	return nil
}

// collectionLog writes log.json as Velociraptor's collector does (JSON
// lines: _ts, client_time, level, message) and, with -v, to stderr.
type collectionLog struct {
	mu     sync.Mutex
	file   io.Writer
	echo   io.Writer
	count  int
	errors int // lines isErrorLine holds for: the command then fails
}

func (self *collectionLog) Write(b []byte) (int, error) {
	self.mu.Lock()
	defer self.mu.Unlock()
	msg := strings.TrimRight(string(b), "\n")
	if isErrorLine(msg) {
		self.errors++
	}
	if self.echo != nil {
		fmt.Fprintln(self.echo, msg)
	}
	self.writeFile(msg)
	return len(b), nil
}

// fileOnly writes a message to log.json only.
func (self *collectionLog) fileOnly(msg string) {
	self.mu.Lock()
	defer self.mu.Unlock()
	self.writeFile(msg)
}

func (self *collectionLog) writeFile(msg string) {
	self.count++
	if self.file != nil {
		level, message := "DEFAULT", msg
		if parts := strings.SplitN(msg, ":", 2); len(parts) == 2 {
			switch l := strings.ToUpper(parts[0]); l {
			case "DEFAULT", "ERROR", "INFO", "WARN", "DEBUG", "ALERT":
				level, message = l, parts[1]
			}
		}
		now := time.Now().Unix()
		line, _ := json.Marshal(map[string]interface{}{
			"_ts": now, "client_time": now, "level": level, "message": message})
		_, _ = self.file.Write(append(line, '\n'))
	}
}

// resultSink keeps one writer per source.
type resultSink struct {
	dir     string // "" = stdout
	format  string
	opts    output.Options
	writers map[string][]output.Writer
	files   []*os.File
	stdout  output.Writer
	counts  map[string]int // rows per source
	escape  bool           // exchange.EscapeRow every row
}

func (self *resultSink) emit(name string, row *ordereddict.Dict) error {
	if self.counts == nil {
		self.counts = map[string]int{}
	}
	self.counts[name]++
	if self.escape {
		exchange.EscapeRow(row)
	}
	if self.dir == "" {
		if self.stdout == nil {
			w, err := output.NewWriterWithOptions(self.format, os.Stdout, self.opts)
			if err != nil {
				return err
			}
			self.stdout = w
		}
		row.Set("_Source", name)
		return self.stdout.Write(row)
	}

	writers, ok := self.writers[name]
	if !ok {
		base := filepath.Join(self.dir, "results", builtins.SanitizeForZip(name))
		kinds := []struct{ ext, format string }{{".json", "jsonl"}}
		switch self.format {
		case "csv":
			kinds = append(kinds, struct{ ext, format string }{".csv", "csv"})
		case "timesketch":
			kinds = append(kinds, struct{ ext, format string }{".timesketch.jsonl", "timesketch"})
		case "bodyfile":
			kinds = append(kinds, struct{ ext, format string }{".body", "bodyfile"})
		}
		for _, k := range kinds {
			fd, err := os.OpenFile(base+k.ext, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0644)
			if err != nil {
				return err
			}
			self.files = append(self.files, fd)
			w, err := output.NewWriterWithOptions(k.format, fd, self.opts)
			if err != nil {
				return err
			}
			writers = append(writers, w)
		}
		self.writers[name] = writers
	}
	for _, w := range writers {
		if err := w.Write(row); err != nil {
			return err
		}
	}
	return nil
}

func (self *resultSink) Close() error {
	var errs []error
	if self.stdout != nil {
		errs = append(errs, self.stdout.Close())
	}
	for _, ws := range self.writers {
		for _, w := range ws {
			errs = append(errs, w.Close())
		}
	}
	for _, f := range self.files {
		errs = append(errs, f.Close())
	}
	return errors.Join(errs...)
}

func doArtifactsCollect() error {
	repo, err := loadRepository()
	if err != nil {
		return err
	}
	names := *artifactsCollectNames
	params, warnings, err := repo.CollectorParams(names, *artifactsCollectArgs)
	if err != nil {
		return err
	}

	// Compile everything first: nothing runs if any artifact is bad.
	var requests []*artifacts.Request
	for _, name := range names {
		r, err := repo.Compile(name, params[name], artifacts.CompilerOptions{})
		if err != nil {
			return err
		}
		requests = append(requests, r...)
	}

	logw := &collectionLog{}
	if *verbose {
		logw.echo = os.Stderr
	}
	sink := &resultSink{format: *artifactsCollectFormat, writers: map[string][]output.Writer{},
		escape: *artifactsCollectEscape}

	dir := *artifactsCollectOutput
	zipPath := ""
	if strings.HasSuffix(strings.ToLower(dir), ".zip") {
		// A container: collect into a private folder, then pack it.
		if _, err := os.Stat(dir); err == nil {
			return fmt.Errorf("%s already exists; choose a new name", dir)
		}
		tmp, err := os.MkdirTemp("", "vql-collection-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		zipPath, dir = *artifactsCollectOutput, tmp
	}
	if dir != "" {
		if *artifactsCollectFormat == "table" {
			return fmt.Errorf("--format table is for the terminal; use json, jsonl or csv with --output")
		}
		if _, err := os.Stat(filepath.Join(dir, "log.json")); err == nil {
			return fmt.Errorf("%s already holds a collection (log.json); choose a new folder", dir)
		}
		if err := os.MkdirAll(filepath.Join(dir, "results"), 0755); err != nil {
			return err
		}
		fd, err := os.OpenFile(filepath.Join(dir, "log.json"), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0644)
		if err != nil {
			return err
		}
		defer fd.Close()
		logw.file = fd
		sink.dir = dir
	}
	if !*verbose {
		// Errors always reach stderr; progress too on a terminal.
		logw.echo = &errorsOnly{w: os.Stderr, progress: isTerminal(os.Stderr)}
	}

	var uploader host.Uploader
	recorder := &exchange.RecordingUploader{Dir: &host.DirUploader{Dir: dir}}
	if dir != "" {
		uploader = recorder
	}
	scope := newArtifactScope(repo, ordereddict.NewDict(), log.New(logw, "", 0), uploader)
	defer scope.Close()
	sink.opts = output.Options{Location: output.ScopeLocation(scope),
		Warn: func(m string) { fmt.Fprintln(os.Stderr, m) }}
	for _, w := range warnings {
		scope.Log("WARN:%s", w)
	}

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()
	if *artifactsCollectTimeout > 0 {
		var c2 context.CancelFunc
		ctx, c2 = context.WithTimeout(ctx, *artifactsCollectTimeout)
		defer c2()
	}

	var errs []error
	collection := &exchange.Collection{Artifacts: names, Params: params, Requests: requests, Start: time.Now()}
	for _, r := range requests {
		stat := &exchange.QueryStat{Artifact: r.Artifact, Start: time.Now(), Rows: map[string]int{}}
		before := map[string]int{}
		for k, v := range sink.counts {
			before[k] = v
		}
		logBefore := logw.count
		if err := artifacts.RunRequest(ctx, scope, r, sink.emit); err != nil {
			// Into log.json; stderr gets it once, from main.
			logw.fileOnly("ERROR:" + err.Error())
			errs = append(errs, err)
			stat.Error = err.Error()
		}
		stat.Duration = time.Since(stat.Start)
		for k, v := range sink.counts {
			if v > before[k] {
				stat.Rows[k] = v - before[k]
			}
		}
		stat.LogRows = logw.count - logBefore
		collection.Stats = append(collection.Stats, stat)
		if ctx.Err() != nil {
			break
		}
	}
	errs = append(errs, sink.Close())
	logw.mu.Lock()
	if logw.errors > 0 && len(errs) == 1 && errs[0] == nil {
		// The results are written; the errors are in the log (and on stderr).
		errs = append(errs, fmt.Errorf("the collection logged %d error(s) (see above, and log.json)", logw.errors))
	}
	logw.mu.Unlock()
	if zipPath != "" {
		collection.Uploads = recorder.Uploads()
		if err := writeContainer(zipPath, dir, collection); err != nil {
			return errors.Join(append(errs, err)...)
		}
		dir = zipPath
	}
	if dir != "" && len(errs) == 0 {
		fmt.Fprintf(os.Stderr, "vql: collection written to %s\n", dir)
	}
	return errors.Join(errs...)
}

// writeContainer packs the collection folder dir into a Velociraptor
// collection zip at path (written whole or not at all).
func writeContainer(path, dir string, c *exchange.Collection) error {
	tmp := path + ".tmp"
	fd, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	err = exchange.WriteContainer(fd, dir, c)
	if cerr := fd.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// errorsOnly passes on ERROR: lines and, with progress, the start
// and row count of each source.
type errorsOnly struct {
	w        io.Writer
	progress bool
}

func (self *errorsOnly) Write(b []byte) (int, error) {
	s := string(b)
	if strings.HasPrefix(s, "ERROR:") ||
		(self.progress && (strings.HasPrefix(s, "INFO:Starting collection of ") ||
			strings.HasPrefix(s, "INFO:Collected "))) {
		if _, err := io.WriteString(self.w, s); err != nil {
			return 0, err
		}
	}
	return len(b), nil
}

// isTerminal is true when f is a character device (a terminal).
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func doArtifactsVerify(stdout, stderr io.Writer) error {
	if *artifactsVerifyStock {
		return doArtifactsVerifyStock(stdout, stderr)
	}
	base, _ := artifacts.NewStandardRepository(*definitions)

	var defs []artifacts.Definition
	if len(*artifactsVerifyFiles) == 0 {
		all, err := artifacts.AllDefinitions(*definitions)
		if err != nil {
			return err
		}
		defs = all
	} else {
		for _, f := range *artifactsVerifyFiles {
			d, err := artifacts.FileDefinition(f)
			if err != nil {
				return err
			}
			defs = append(defs, d)
		}
	}
	if len(defs) == 0 {
		fmt.Fprintln(stdout, "No artifacts to verify.")
		return nil
	}

	scope := newArtifactScope(base, nil, nil, nil)
	defer scope.Close()
	return reportVerify(stdout, stderr, artifacts.VerifyDefinitions(base, artifacts.DescribeScope(scope), defs))
}

// doArtifactsVerifyStock verifies files (default: the --definitions
// folders) against stock Velociraptor's VQL: exchange editions must
// use nothing else.
func doArtifactsVerifyStock(stdout, stderr io.Writer) error {
	base, err := exchange.StockRepository()
	if err != nil {
		return err
	}
	api, err := exchange.StockAPI()
	if err != nil {
		return err
	}
	var defs []artifacts.Definition
	for _, f := range *artifactsVerifyFiles {
		d, err := artifacts.FileDefinition(f)
		if err != nil {
			return err
		}
		defs = append(defs, d)
	}
	if len(*artifactsVerifyFiles) == 0 {
		for _, dir := range *definitions {
			more, err := artifacts.DirDefinitions(dir)
			if err != nil {
				return fmt.Errorf("--definitions %s: %w", dir, err)
			}
			defs = append(defs, more...)
		}
	}
	if len(defs) == 0 {
		return fmt.Errorf("--stock: no files to verify (name them, or give --definitions DIR)")
	}
	return reportVerify(stdout, stderr, artifacts.VerifyDefinitions(base, api, defs))
}

func reportVerify(stdout, stderr io.Writer, reports []*artifacts.FileReport) error {
	failed := 0
	for _, report := range reports {
		if len(report.Errors) == 0 {
			fmt.Fprintf(stdout, "Verified %v: OK\n", report.Path)
			continue
		}
		failed++
		for _, err := range report.Errors {
			fmt.Fprintf(stderr, "%v: %v\n", report.Path, err)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d artifact files failed verification", failed, len(reports))
	}
	return nil
}

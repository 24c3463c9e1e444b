package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/vql/host"
	"github.com/azvql/azvql/vql/output"
	"www.velocidex.com/golang/vfilter"
)

var (
	queryCmd     = app.Command("query", "Run VQL: each argument may hold several statements (LET and SELECT); the rows of each SELECT are printed.")
	queryQueries = queryCmd.Arg("queries", "The VQL to run.").Required().Strings()
	queryFormat  = queryCmd.Flag("format", "Output format: json (Velociraptor's), jsonl, csv or table "+
		"(default: table on a terminal, json otherwise).").Enum(output.Formats...)
	queryEnv = queryCmd.Flag("env", "Set a query variable K=V (repeat).").StringMap()
)

func init() {
	commandHandlers = append(commandHandlers, func(command string) (bool, error) {
		if command != queryCmd.FullCommand() {
			return false, nil
		}
		ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
		defer cancel()
		format := *queryFormat
		if format == "" {
			format = defaultFormat(os.Stdout)
		}
		env := ordereddict.NewDict()
		keys := make([]string, 0, len(*queryEnv))
		for k := range *queryEnv {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			env.Set(k, (*queryEnv)[k])
		}
		return true, runQueries(ctx, *queryQueries, queryOptions{
			Format:  format,
			Env:     env,
			Verbose: *verbose,
			Stdout:  os.Stdout,
			Stderr:  os.Stderr,
		})
	})
}

// defaultFormat is table for a terminal, json otherwise.
func defaultFormat(f *os.File) string {
	st, err := f.Stat()
	if err == nil && st.Mode()&os.ModeCharDevice != 0 {
		return "table"
	}
	return "json"
}

type queryOptions struct {
	Format  string
	Env     *ordereddict.Dict
	Verbose bool
	Stdout  io.Writer
	Stderr  io.Writer
}

// queryLog writes the query log to stderr: every line with -v, else
// only ERROR lines. An ERROR line (an unknown plugin, a bad argument)
// makes the command fail, as Velociraptor's query command does.
type queryLog struct {
	mu      sync.Mutex
	w       io.Writer
	verbose bool
	err     error
}

func (l *queryLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	msg := strings.TrimRight(string(b), "\n")
	isErr := isErrorLine(msg)
	if isErr && l.err == nil {
		l.err = errQueryLogged
	}
	// WARN lines (a root with no agent layout) are shown too: they
	// explain an empty result without failing the command.
	if l.verbose || isErr || strings.HasPrefix(msg, "WARN:") {
		fmt.Fprintln(l.w, msg)
	}
	return len(b), nil
}

// argErrorRe matches vfilter's argument-parser messages ("Unexpected
// arg x", "Field x is required"), which some callers log without the
// ERROR: prefix; Velociraptor marks a collection failed on them too.
var argErrorRe = regexp.MustCompile(`Unexpected arg |Field \S+ is required`)

// isErrorLine is true for a query log line that makes the command fail:
// level ERROR, or an argument the query got wrong.
func isErrorLine(msg string) bool {
	return strings.HasPrefix(msg, "ERROR:") || argErrorRe.MatchString(msg)
}

// errQueryLogged is returned when the query log held an ERROR line
// (already printed on stderr).
var errQueryLogged = errors.New("the query reported errors (see above)")

func runQueries(ctx context.Context, queries []string, o queryOptions) error {
	// Parse everything first: a syntax error runs nothing.
	var statements []*vfilter.VQL
	for _, q := range queries {
		stmts, err := vfilter.MultiParse(q)
		if err != nil {
			return fmt.Errorf("parse error: %w", err)
		}
		statements = append(statements, stmts...)
	}
	if _, err := output.NewWriter(o.Format, io.Discard); err != nil {
		return err
	}
	qlog := &queryLog{w: o.Stderr, verbose: o.Verbose}
	repo, err := loadRepository()
	if err != nil {
		return err
	}
	scope := newArtifactScope(repo, o.Env, log.New(qlog, "", 0), nil)
	defer scope.Close()

	stdout := bufio.NewWriter(o.Stdout)
	defer stdout.Flush()
	for _, vql := range statements {
		if vql.Let != "" {
			// LET only defines a variable; nothing to print.
			for range vql.Eval(ctx, scope) {
			}
			continue
		}
		// Times are printed in the TZ variable's zone (read per
		// statement, so a LET TZ applies to what follows).
		loc := output.ScopeLocation(scope)
		w, err := output.NewWriterWithOptions(o.Format, stdout, output.Options{Location: loc})
		if err != nil {
			return err
		}
		rows, done := host.Eval(ctx, scope, vql)
		for row := range rows {
			if err := w.Write(host.ReadOnlyRow(ctx, scope, row)); err != nil {
				return err // the process ends; the query is abandoned as vql.Eval's would be
			}
		}
		done()
		if err := w.Close(); err != nil {
			return err
		}
		if err := stdout.Flush(); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	qlog.mu.Lock()
	defer qlog.mu.Unlock()
	return qlog.err
}

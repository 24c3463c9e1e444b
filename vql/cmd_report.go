package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/vql/host"
	"github.com/azvql/azvql/vql/report"
	"www.velocidex.com/golang/vfilter"
)

var (
	reportCmd    = app.Command("report", "Write one self-contained HTML page per evidence root (executions, a timeline chart, findings; no network needed to open it).")
	reportOutput = reportCmd.Flag("output", "Folder for the pages (created; one ROOTNAME.html per root).").Required().String()
	reportAL     = reportCmd.Flag("activity-logs", "Glob of the subscription's Activity Log exports: who sent each run, runs with no control-plane record, deletions.").String()
	reportVM     = reportCmd.Flag("vm-name", "The VM's Azure name in the Activity Log (default: the name the evidence holds, for the matching; the timeline then shows every VM's operations in the exports).").String()
	reportRoots  = reportCmd.Arg("roots", "Evidence roots (a Linux root or a C: drive folder).").Required().Strings()
)

func init() {
	commandHandlers = append(commandHandlers, func(command string) (bool, error) {
		if command != reportCmd.FullCommand() {
			return false, nil
		}
		ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
		defer cancel()
		return true, writeReports(ctx, *reportOutput, *reportRoots, os.Stderr)
	})
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func writeReports(ctx context.Context, dir string, roots []string, stderr io.Writer) error {
	for _, r := range roots {
		if st, err := os.Stat(r); err != nil || !st.IsDir() {
			return fmt.Errorf("report: %s: not a folder (%v)", r, err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	repo, err := loadRepository()
	if err != nil {
		return err
	}
	used := map[string]int{}
	for _, root := range roots {
		abs, _ := filepath.Abs(root)
		name := unsafeName.ReplaceAllString(filepath.Base(abs), "_")
		used[name]++
		if used[name] > 1 {
			name = fmt.Sprintf("%s-%d", name, used[name])
		}
		qlog := &queryLog{w: stderr, verbose: *verbose}
		env := ordereddict.NewDict().Set("ReportRoot", abs).Set("ReportAL", *reportAL).Set("ReportVM", *reportVM).Set("ReportVMRe", vmRegex(*reportVM))
		scope := newArtifactScope(repo, env, log.New(qlog, "", 0), nil)
		in := report.Input{Root: filepath.Base(abs), ActivityLog: *reportAL != ""}
		for _, q := range []struct {
			vql  string
			rows *[]*ordereddict.Dict
		}{
			{"SELECT * FROM Artifact.Generic.Azure.Executions(Root=ReportRoot, source='Executions')", &in.Executions},
			{"SELECT * FROM Artifact.Generic.Azure.Timeline(Root=ReportRoot, source='Timeline', ActivityLogs=ReportAL, VMName=ReportVMRe)", &in.Timeline},
			{"SELECT * FROM Artifact.Generic.Azure.Timeline(Root=ReportRoot, source='Undated')", &in.Undated},
			{"SELECT * FROM if(condition=ReportAL, then={ SELECT * FROM Artifact.Generic.Azure.WhoRanIt(Root=ReportRoot, ActivityLogs=ReportAL, VMName=ReportVM, source='Executions') })", &in.WhoRanIt},
			{"SELECT * FROM if(condition=ReportAL, then={ SELECT * FROM Artifact.Generic.Azure.WhoRanIt(Root=ReportRoot, ActivityLogs=ReportAL, VMName=ReportVM, source='OperationsWithoutTrace') })", &in.NoTrace},
		} {
			stmt, err := vfilter.Parse(q.vql)
			if err != nil {
				return err
			}
			rows, done := host.Eval(ctx, scope, stmt)
			for row := range rows {
				*q.rows = append(*q.rows, host.ReadOnlyRow(ctx, scope, row))
			}
			done()
		}
		scope.Close()
		if qlog.err != nil {
			return fmt.Errorf("report: %s: %w", root, qlog.err)
		}
		out := filepath.Join(dir, name+".html")
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		if err := report.Render(f, in); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "report: %s: %d executions, %d timeline rows -> %s\n", root,
			len(in.Executions), len(in.Timeline), out)
	}
	return nil
}

// vmRegex is the timeline's VMName regex for one VM name.
func vmRegex(name string) string {
	if name == "" {
		return ""
	}
	return "^" + regexp.QuoteMeta(name) + "$"
}

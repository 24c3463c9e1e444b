package handlerlog

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/evidence"
	"www.velocidex.com/golang/vfilter"
)

func TestEvidencePath(t *testing.T) {
	root := evidence.NewRoot(evidence.OSAccessor{}, "/mnt/img")
	for in, want := range map[string]string{
		"/mnt/img/var/log/azure/run-command/handler.log": "/var/log/azure/run-command/handler.log",
		"/mnt/img/WindowsAzure/Logs/WaAppAgent.log":      `C:\WindowsAzure\Logs\WaAppAgent.log`,
		`C:\WindowsAzure\Logs\WaAppAgent.log`:            `C:\WindowsAzure\Logs\WaAppAgent.log`,
		"/var/log/waagent.log":                           "/var/log/waagent.log",
	} {
		if got := EvidencePath(root, in); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
	if got := EvidencePath(evidence.NewRoot(evidence.OSAccessor{}, ""), "/var/log/x.log"); got != "/var/log/x.log" {
		t.Errorf("no root: %s", got)
	}
}

// The plugin stops when the query is cancelled, and logs (not fails) on
// a missing file.
func TestPluginCancelAndMissing(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "var", "log", "azure", "run-command")
	os.MkdirAll(p, 0o755)
	var b strings.Builder
	for i := 0; i < 5000; i++ {
		b.WriteString("time=2025-03-14T09:12:04Z version=v1.0.5/git@x-clean operation=enable seq=1 event=start\n")
	}
	os.WriteFile(filepath.Join(p, "handler.log"), []byte(b.String()), 0o644)

	scope := vfilter.NewScope()
	var logs []string
	scope.SetLogger(newLogger(&logs))
	ctx, cancel := context.WithCancel(context.Background())
	args := ordereddict.NewDict().Set("filename", "/var/log/azure/run-command/handler.log").Set("root", dir)
	n := 0
	for range (HandlerLogPlugin{}).Call(ctx, scope, args) {
		n++
		if n == 10 {
			cancel()
		}
	}
	// Rows already in the channel's buffer (vqlkit holds 64) still arrive;
	// a plugin that ignored the cancel would send all 5000.
	if n > 10+64+10 {
		t.Errorf("%d rows after cancel", n)
	}
	cancel()
	args = ordereddict.NewDict().Set("filename", "/var/log/azure/nope/handler.log").Set("root", dir)
	for range (HandlerLogPlugin{}).Call(context.Background(), scope, args) {
		t.Error("row from a missing file")
	}
	if len(logs) == 0 || !strings.Contains(strings.Join(logs, "\n"), "/var/log/azure/nope/handler.log") {
		t.Errorf("logs %q", logs)
	}
}

//go:build unix

package adversarial

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/azvql/azvql/internal/fixtures"
	"golang.org/x/sys/unix"
	"www.velocidex.com/golang/vfilter"
)

// kase is one hostile evidence tree and what must hold for it.
type kase struct {
	name     string
	windows  bool
	setup    func(tr *tree)
	names    []string              // paths some log line or row must name (nothing skipped without a word)
	accessor string                // default auto
	root     func(tr *tree) string // the root= argument (default the tree)
	exit     string                // "" = no ERROR line; "error": an ERROR line; "warn": a WARN line and no rows
	check    func(t *testing.T, r result)
	// pluginsOnly skips the artifacts (bombs: the plugins prove the
	// bound; the artifacts would parse the same huge files again).
	pluginsOnly bool
}

// Evidence files every family reads, by OS.
var linuxFiles = []string{
	handler + "/config/0.settings",
	handler + "/config/5.settings",
	handler + "/status/0.status",
	handler + "/mrseq",
	handler + "/pidstart",
	handler + "/HandlerEnvironment.json",
	handler + "/HandlerManifest.json",
	handler + "/config/HandlerState",
	handler + "/config/HandlerStatus",
	download + "/0/stdout",
	download + "/0/stderr",
	download + "/0/script.sh",
	download + "/1/stdout",
	"/var/log/waagent.log",
	"/var/log/azure/run-command/handler.log",
	rcLogDir + "/CommandExecution.log",
	rcLogDir + "/events/1714644672123.json",
	"/var/lib/waagent/" + thumb + ".prv",
	"/var/lib/waagent/" + thumb + ".crt",
	"/var/lib/waagent/Certificates.pem",
	"/var/lib/waagent/events/1714644673000000.tld",
	"/var/lib/waagent/ExtensionsConfig.10.xml",
	histDir + "/VmSettings.json",
	histZip,
	"/var/lib/waagent/waagent_status.json",
}

var windowsFiles = []string{
	winH + `\RuntimeSettings\0.settings`,
	winH + `\Status\0.status`,
	winH + `\Downloads\script0.ps1`,
	winLogs + `\WaAppAgent.log`,
	winLogs + `\AggregateStatus\aggregatestatus_20250610142016.json`,
	winLogs + `\Plugins\Microsoft.CPlat.Core.RunCommandWindows\1.1.22\RunCommandExtension.log`,
	`C:\Packages\Plugins\Microsoft.Compute.CustomScriptExtension\1.10.18\RuntimeSettings\0.settings`,
}

// Folders on the way to them.
var linuxDirs = []string{
	"/var/lib",
	"/var/lib/waagent",
	handler,
	handler + "/config",
	handler + "/status",
	"/var/lib/waagent/run-command",
	download,
	download + "/0",
	"/var/log",
	"/var/log/azure",
	"/var/log/azure/run-command",
	rcLogDir + "/events",
	"/var/lib/waagent/events",
	history,
	histDir,
}

var windowsDirs = []string{
	`C:\Packages\Plugins`,
	`C:\Packages\Plugins\Microsoft.CPlat.Core.RunCommandWindows`,
	winH,
	winH + `\RuntimeSettings`,
	winH + `\Downloads`,
	winLogs,
	winLogs + `\AggregateStatus`,
}

func fifo(tr *tree, p string) { tr.must(unix.Mkfifo(tr.clear(p), 0o644)) }

// chardev makes p a character device (major, minor), or skips the case
// where the process may not (no CAP_MKNOD).
func chardev(tr *tree, p string, major, minor uint32) {
	if err := unix.Mknod(tr.clear(p), unix.S_IFCHR|0o644, int(unix.Mkdev(major, minor))); err != nil {
		tr.t.Skipf("mknod %s: %v (needs CAP_MKNOD)", p, err)
	}
}

func socket(tr *tree, p string) {
	h := tr.clear(p)
	if len(h) > 100 {
		// sun_path holds ~108 bytes: bind from the folder.
		wd, _ := os.Getwd()
		tr.must(os.Chdir(filepath.Dir(h)))
		defer os.Chdir(wd)
		h = filepath.Base(h)
	}
	l, err := net.Listen("unix", h)
	if err != nil {
		tr.t.Skipf("unix socket %s: %v", p, err)
	}
	// Keep the socket file after the listener closes.
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
}

// rows of a plugin, and one column of them.
func column(r result, prefix, col string) []interface{} {
	var out []interface{}
	for _, row := range r.rowsOf(prefix) {
		v, _ := row.Get(col)
		out = append(out, v)
	}
	return out
}

func stdoutOf(r result, seq int64) interface{} {
	for _, row := range r.rowsOf("SELECT * FROM azure_run_executions") {
		if s, _ := row.Get("SeqNo"); s == seq {
			v, _ := row.Get("StdOut")
			return v
		}
	}
	return "no row"
}

func noDecryption(t *testing.T, r result) {
	for _, v := range column(r, "SELECT * FROM azure_run_executions", "ProtectedSettingsDecrypted") {
		if v != nil && !isNull(v) {
			t.Errorf("decrypted with a key read through a link: %v", v)
		}
	}
}

func isNull(v interface{}) bool {
	_, ok := v.(vfilter.Null)
	return ok
}

func hasRow(prefix string, min int) func(*testing.T, result) {
	return func(t *testing.T, r result) {
		if n := len(r.rowsOf(prefix)); n < min {
			t.Errorf("%s: %d rows, want at least %d (the rest must still be read)", prefix, n, min)
		}
	}
}

func cases() []kase {
	var cs []kase
	add := func(c kase) { cs = append(cs, c) }

	// 1. FIFOs named like every evidence file: never opened, named, the
	// rest still read.
	for _, p := range linuxFiles {
		p := p
		add(kase{name: "fifo " + p, setup: func(tr *tree) { fifo(tr, p) }, names: []string{p}})
	}
	for _, p := range windowsFiles {
		p := p
		add(kase{name: "fifo " + p, windows: true, setup: func(tr *tree) { fifo(tr, p) }, names: []string{p}})
	}

	// 2. Absolute links from every evidence file to its marker copy
	// outside Root (on a mounted image: the analyst's own files).
	for _, p := range linuxFiles {
		p := p
		add(kase{name: "abs link " + p, setup: func(tr *tree) { tr.linkOut(p) }, names: []string{p}})
	}
	for _, p := range windowsFiles {
		p := p
		add(kase{name: "abs link " + p, windows: true, setup: func(tr *tree) { tr.linkOut(p) }, names: []string{p}})
	}

	// 3. Relative links climbing out of Root.
	for _, p := range []string{download + "/0/stdout", "/var/log/waagent.log", handler + "/mrseq", handler + "/config/0.settings",
		"/var/lib/waagent/" + thumb + ".prv", "/var/log/azure/run-command/handler.log", "/var/lib/waagent/events/1714644673000000.tld"} {
		p := p
		add(kase{name: "rel link " + p, setup: func(tr *tree) {
			rel, err := filepath.Rel(filepath.Dir(tr.host(p)), filepath.Join(tr.outside, "shadow"))
			tr.must(err)
			tr.link(p, rel)
		}, names: []string{p}})
	}

	// 4. Links at every folder level, to the folder's marker copy.
	for _, d := range linuxDirs {
		d := d
		add(kase{name: "dir link " + d, setup: func(tr *tree) { tr.linkOut(d) }, names: []string{d}})
	}
	for _, d := range windowsDirs {
		d := d
		add(kase{name: "dir link " + d, windows: true, setup: func(tr *tree) { tr.linkOut(d) }, names: []string{d}})
	}
	// /var itself: no layout can be read, and the warning says why.
	add(kase{name: "dir link /var", setup: func(tr *tree) { tr.linkOut("/var") }, names: []string{`/var`}, exit: "warn"})
	// A relative folder link climbing out.
	add(kase{name: "rel dir link run-command", setup: func(tr *tree) {
		rel, err := filepath.Rel(filepath.Dir(tr.host("/var/lib/waagent/run-command")), tr.out("/var/lib/waagent/run-command"))
		tr.must(err)
		tr.link("/var/lib/waagent/run-command", rel)
	}, names: []string{"/var/lib/waagent/run-command"}})

	// 5. Loops.
	add(kase{name: "loop self stdout", setup: func(tr *tree) { tr.link(download+"/0/stdout", "stdout") }, names: []string{download + "/0/stdout"}})
	add(kase{name: "loop pair waagent.log", setup: func(tr *tree) {
		tr.link("/var/log/waagent.log", "waagent.log.x")
		tr.link("/var/log/waagent.log.x", "waagent.log")
	}, names: []string{"/var/log/waagent.log"}})
	add(kase{name: "loop dir dot in download/0", setup: func(tr *tree) { tr.link(download+"/0/loop", ".") }, names: []string{download + "/0/loop"}})
	add(kase{name: "loop dir dotdot in log/azure", setup: func(tr *tree) { tr.link("/var/log/azure/up", "..") }, names: []string{"/var/log/azure/up"}})
	add(kase{name: "loop seq folder", setup: func(tr *tree) { tr.link(download+"/9", "../download") }, names: []string{download + "/9"}})
	add(kase{name: "loop history", setup: func(tr *tree) { tr.link(history+"/2024-01-01T00-00-00__7", "../history") }, names: []string{history + "/2024-01-01T00-00-00__7"}})
	add(kase{name: "loop config", setup: func(tr *tree) { tr.link(handler+"/config", "../"+filepath.Base(handler)) }, names: []string{handler + "/config"}})
	add(kase{name: "loop handler folder", setup: func(tr *tree) {
		tr.link("/var/lib/waagent/Microsoft.CPlat.Core.RunCommandLinux-1.0.6", "Microsoft.CPlat.Core.RunCommandLinux-1.0.6")
	}, names: []string{"/var/lib/waagent/Microsoft.CPlat.Core.RunCommandLinux-1.0.6"}})
	add(kase{name: "loop events", setup: func(tr *tree) { tr.link("/var/lib/waagent/events/2.tld", "2.tld") }, names: []string{"/var/lib/waagent/events/2.tld"}})

	// 6. Dangling links.
	for _, p := range []string{download + "/0/stdout", "/var/log/waagent.log", handler + "/mrseq", "/var/lib/waagent/" + thumb + ".prv",
		"/var/lib/waagent/Microsoft.CPlat.Core.RunCommandLinux-1.0.9"} {
		p := p
		add(kase{name: "dangling " + p, setup: func(tr *tree) { tr.link(p, "/nonexistent-azvql-target") }, names: []string{p}})
	}

	// 7. A key behind a link must not decrypt: the only key is outside.
	add(kase{name: "prv link is the only key", setup: func(tr *tree) {
		tr.must(os.Remove(tr.host("/var/lib/waagent/Certificates.pem")))
		tr.link("/var/lib/waagent/"+thumb+".prv", filepath.Join(tr.outside, "key.prv"))
	}, names: []string{"/var/lib/waagent/" + thumb + ".prv"}, check: noDecryption})
	add(kase{name: "prv link to shadow", setup: func(tr *tree) {
		tr.link("/var/lib/waagent/"+thumb+".prv", filepath.Join(tr.outside, "shadow"))
	}, names: []string{"/var/lib/waagent/" + thumb + ".prv"}})

	// 8. Devices and sockets.
	add(kase{name: "chardev zero mrseq", setup: func(tr *tree) { chardev(tr, handler+"/mrseq", 1, 5) }, names: []string{handler + "/mrseq"}})
	add(kase{name: "chardev zero stdout", setup: func(tr *tree) { chardev(tr, download+"/0/stdout", 1, 5) }, names: []string{download + "/0/stdout"}})
	add(kase{name: "chardev zero waagent.log", setup: func(tr *tree) { chardev(tr, "/var/log/waagent.log", 1, 5) }, names: []string{"/var/log/waagent.log"}})
	add(kase{name: "chardev urandom settings", setup: func(tr *tree) { chardev(tr, handler+"/config/0.settings", 1, 9) }, names: []string{handler + "/config/0.settings"}})
	add(kase{name: "socket stdout", setup: func(tr *tree) { socket(tr, download+"/0/stdout") }, names: []string{download + "/0/stdout"}})
	add(kase{name: "socket tld", setup: func(tr *tree) { socket(tr, "/var/lib/waagent/events/9.tld") }, names: []string{"/var/lib/waagent/events/9.tld"}})
	add(kase{name: "socket handler.log", setup: func(tr *tree) { socket(tr, "/var/log/azure/run-command/handler.log") }, names: []string{"/var/log/azure/run-command/handler.log"}})

	// 9. Folders where a file is expected.
	for _, p := range []string{"/var/log/waagent.log", download + "/0/stdout", handler + "/config/6.settings", handler + "/mrseq",
		"/var/lib/waagent/AAAA.prv", "/var/lib/waagent/events/2.tld", rcLogDir + "/x.log", "/var/lib/waagent/waagent_status.json",
		handler + "/HandlerEnvironment.json", "/var/lib/waagent/VmSettings.json"} {
		p := p
		add(kase{name: "folder as file " + p, setup: func(tr *tree) { tr.mkdir(p) }, names: []string{p}})
	}
	add(kase{name: "folder as file aggregatestatus", windows: true, setup: func(tr *tree) {
		tr.mkdir(winLogs + `\AggregateStatus\aggregatestatus_20990101000000.json`)
	}, names: []string{winLogs + `\AggregateStatus\aggregatestatus_20990101000000.json`}})

	// 10. Folders and files that cannot be read (as a non-owner sees
	// them): named, and what a folder must hold is tried by name.
	dac := func(name, p string, mode os.FileMode, check func(*testing.T, result)) {
		add(kase{name: "unreadable " + name, accessor: "adversarial_dac", setup: func(tr *tree) { tr.chmod(p, mode) },
			names: []string{p}, check: check})
	}
	dac("download/0 (711)", download+"/0", 0o711, func(t *testing.T, r result) {
		if s, ok := stdoutOf(r, 0).(string); !ok || !strings.HasPrefix(s, "uid=0(root)") {
			t.Errorf("stdout of a 711 working folder not read by name: %v", stdoutOf(r, 0))
		}
	})
	dac("config (711)", handler+"/config", 0o711, nil)
	dac("status (711)", handler+"/status", 0o711, nil)
	dac("log/azure (711)", "/var/log/azure", 0o711, nil)
	dac("events (711)", "/var/lib/waagent/events", 0o711, nil)
	dac("history (711)", history, 0o711, nil)
	dac("stdout (600)", download+"/0/stdout", 0o600, nil)
	dac("waagent.log (600)", "/var/log/waagent.log", 0o600, nil)
	dac("0.settings (600)", handler+"/config/0.settings", 0o600, nil)
	dac("HandlerEnvironment (600)", handler+"/HandlerEnvironment.json", 0o600, nil)
	dac("Certificates.pem (600)", "/var/lib/waagent/Certificates.pem", 0o600, nil)

	// 11. Bombs: bounded, named, the rest read.
	add(kase{pluginsOnly: true, name: "bomb 24MB line waagent.log", setup: func(tr *tree) {
		tr.write("/var/log/waagent.log", "2025-03-14T09:00:00.000000Z INFO ExtHandler "+strings.Repeat("A", 24<<20))
	}, names: []string{"/var/log/waagent.log"}})
	add(kase{pluginsOnly: true, name: "bomb gzip 64MB zeros waagent.log", setup: func(tr *tree) {
		var b bytes.Buffer
		z := gzip.NewWriter(&b)
		z.Write(make([]byte, 64<<20))
		z.Close()
		tr.write("/var/log/waagent.log", b.String())
	}, names: []string{"/var/log/waagent.log"}})
	add(kase{pluginsOnly: true, name: "bomb deep folders", setup: func(tr *tree) {
		p := download + "/0"
		for i := 0; i < 120; i++ {
			p += "/d"
		}
		tr.write(p+"/f", "x")
	}, names: []string{download + "/0/d/d/d/d/d/d/d/d"}})
	add(kase{pluginsOnly: true, name: "bomb many files", setup: func(tr *tree) {
		tr.mkdir(download + "/0/many")
		for i := 0; i < 1500; i++ {
			tr.must(os.WriteFile(filepath.Join(tr.host(download+"/0/many"), fmt.Sprintf("f%04d", i)), nil, 0o644))
		}
	}, names: []string{download + "/0/many"}})
	add(kase{pluginsOnly: true, name: "bomb 40MB settings", setup: func(tr *tree) {
		tr.write(handler+"/config/0.settings", `{"runtimeSettings":[{"handlerSettings":{"publicSettings":{"commandToExecute":"`+strings.Repeat("A", 40<<20)+`"}}}]}`)
	}, names: []string{handler + "/config/0.settings"}})
	add(kase{pluginsOnly: true, name: "bomb nested json settings", setup: func(tr *tree) {
		tr.write(handler+"/config/0.settings", strings.Repeat("[", 200000)+strings.Repeat("]", 200000))
	}, names: []string{handler + "/config/0.settings"}})
	add(kase{pluginsOnly: true, name: "bomb nested json status", setup: func(tr *tree) {
		tr.write(handler+"/status/0.status", `[{"status":`+strings.Repeat(`{"a":`, 100000)+"1"+strings.Repeat("}", 100000)+"}]")
	}, names: []string{handler + "/status/0.status"}})
	add(kase{pluginsOnly: true, name: "bomb 10k handler.log lines", setup: func(tr *tree) {
		var b strings.Builder
		for i := 0; i < 10000; i++ {
			fmt.Fprintf(&b, "time=2025-03-14T09:%02d:%02dZ version=1.0.5 operation=enable seq=%d event=\"start\"\n", (i/60)%60, i%60, i%50)
		}
		tr.write("/var/log/azure/run-command/handler.log", b.String())
	}, check: hasRow("SELECT * FROM azure_log_executions", 1)})
	add(kase{pluginsOnly: true, name: "bomb 32MB tld", setup: func(tr *tree) {
		tr.write("/var/lib/waagent/events/1714644673000000.tld", `[{"eventId":1,"providerId":"`+strings.Repeat("x", 32<<20)+`"}]`)
	}, names: []string{"/var/lib/waagent/events/1714644673000000.tld"}})
	add(kase{pluginsOnly: true, name: "bomb nul stdout", setup: func(tr *tree) {
		tr.write(download+"/0/stdout", string(make([]byte, 8<<20)))
	}, check: func(t *testing.T, r result) {
		if s, ok := stdoutOf(r, 0).(string); !ok || s == "" {
			t.Errorf("NUL stdout: %v", stdoutOf(r, 0))
		}
	}})

	// 12. Odd encodings: still read, the row still there.
	settingsRow := hasRow("SELECT * FROM azure_run_executions", 4)
	utf16 := func(s string, be bool, bom bool) string {
		var b []byte
		if bom {
			if be {
				b = append(b, 0xFE, 0xFF)
			} else {
				b = append(b, 0xFF, 0xFE)
			}
		}
		for _, r := range s {
			if be {
				b = append(b, byte(r>>8), byte(r))
			} else {
				b = append(b, byte(r), byte(r>>8))
			}
		}
		return string(b)
	}
	doc := `{"runtimeSettings":[{"handlerSettings":{"publicSettings":{"commandToExecute":"whoami"}}}]}`
	for _, e := range []struct {
		name, content string
	}{
		{"utf16le bom settings", utf16(doc, false, true)},
		{"utf16be bom settings", utf16(doc, true, true)},
		{"utf16le no bom settings", utf16(doc, false, false)},
		{"utf8 bom settings", "\xEF\xBB\xBF" + doc},
		{"invalid utf8 settings", strings.Replace(doc, "whoami", "who\xff\xfeami\xc0\x80", 1)},
		{"nul in settings", strings.Replace(doc, "whoami", `who\u0000ami`, 1)},
	} {
		e := e
		add(kase{name: "encoding " + e.name, setup: func(tr *tree) { tr.write(handler+"/config/1.settings", e.content) }, check: settingsRow})
	}
	add(kase{name: "encoding utf16le waagent.log", setup: func(tr *tree) {
		b, err := os.ReadFile(tr.host("/var/log/waagent.log"))
		tr.must(err)
		tr.write("/var/log/waagent.log", utf16(string(b), false, true))
	}})
	add(kase{name: "encoding cr-only handler.log", setup: func(tr *tree) {
		b, err := os.ReadFile(tr.host("/var/log/azure/run-command/handler.log"))
		tr.must(err)
		tr.write("/var/log/azure/run-command/handler.log", strings.ReplaceAll(string(b), "\n", "\r"))
	}})
	add(kase{name: "encoding invalid utf8 stdout", setup: func(tr *tree) { tr.write(download+"/0/stdout", "uid=0\xff\xfe(root)\n") }})

	// 13. Planted secrets (the redaction catalogue's forms, the ones the
	// issue found leaking first): never in output.
	for _, s := range []struct{ name, cmd, secret string }{
		{"mysql -p", `mysql -uroot -pPLANTEDmysql0 prod`, "PLANTEDmysql0"},
		{"sshpass", `sshpass -p PLANTEDsshpass0 ssh root@10.0.0.5`, "PLANTEDsshpass0"},
		{"env assignment", `PASSWORD=PLANTEDenv0 ./run.sh`, "PLANTEDenv0"},
		{"curl -u", `curl -u admin:PLANTEDcurl0 https://jenkins/api`, "PLANTEDcurl0"},
		{"net user", `net user backdoor PLANTEDnetuser0 /add`, "PLANTEDnetuser0"},
		{"securestring", `$p = ConvertTo-SecureString 'PLANTEDss0' -AsPlainText -Force`, "PLANTEDss0"},
		{"connection string", `Server=db;User Id=sa;Password=PLANTEDcs0;`, "PLANTEDcs0"},
		{"bearer", `curl -H 'Authorization: Bearer PLANTEDbearer0123456789'`, "PLANTEDbearer0"},
		{"password= output", `done, password=PLANTEDout0`, "PLANTEDout0"},
		{"sas sig", `curl 'https://x.blob.core.windows.net/c/a?sv=2021&sig=PLANTEDsigVALUE123%3D'`, "PLANTEDsigVALUE123"},
		{"account key", `az storage blob list --connection-string 'DefaultEndpointsProtocol=https;AccountName=x;AccountKey=PLANTEDaccountKEY0123456789abcdefABCDEF0123456789abcdefABCDEF0123456789abcd==;EndpointSuffix=core.windows.net'`, "PLANTEDaccountKEY0123456789"},
	} {
		s := s
		add(kase{name: "secret " + s.name, setup: func(tr *tree) {
			tr.write(handler+"/config/1.settings", `{"runtimeSettings":[{"handlerSettings":{"publicSettings":{"commandToExecute":"`+strings.ReplaceAll(s.cmd, `"`, `\"`)+`"}}}]}`)
			tr.write(download+"/1/stdout", s.cmd+"\n")
		}, check: func(t *testing.T, r result) {
			if strings.Contains(r.text, s.secret) {
				t.Errorf("planted secret %q leaked", s.secret)
			}
		}})
	}

	// 14. Roots: a typo is an error naming it, a wrong level a warning.
	add(kase{name: "root nonexistent", root: func(tr *tree) string { return tr.root + "/nonexistent" }, exit: "error", names: []string{"nonexistent"}})
	add(kase{name: "root is a file", root: func(tr *tree) string { return tr.host("/var/log/waagent.log") }, exit: "error", names: []string{"waagent.log"}})
	add(kase{name: "root is a fifo", root: func(tr *tree) string {
		p := filepath.Join(tr.t.TempDir(), "rootfifo")
		tr.must(unix.Mkfifo(p, 0o644))
		return p
	}, exit: "error", names: []string{"rootfifo"}})
	add(kase{name: "root unreadable", accessor: "adversarial_dac", setup: func(tr *tree) { tr.must(os.Chmod(tr.root, 0o711)) },
		exit: "error", names: []string{"cannot be read"}})
	add(kase{name: "root empty folder", root: func(tr *tree) string { return tr.t.TempDir() }, exit: "warn", names: []string{"is this the root"}})
	add(kase{name: "root one level too deep", root: func(tr *tree) string { return tr.host("/var") }, exit: "warn", names: []string{"is this the root"}})
	add(kase{name: "root one level too high", root: func(tr *tree) string { return filepath.Dir(tr.root) }, exit: "warn", names: []string{"is this the root"}})
	add(kase{name: "root through a link (the analyst's own mount)", root: func(tr *tree) string {
		l := filepath.Join(tr.t.TempDir(), "mnt")
		tr.must(os.Symlink(tr.root, l))
		return l
	}, check: hasRow("SELECT * FROM azure_run_executions", 4)})
	// Disk images given to azure_mft_entries: garbage and a FIFO named
	// like one are errors naming the file; a real NTFS volume is read.
	add(kase{name: "image garbage named like a VHD", setup: func(tr *tree) { tr.write("/root/c.vhd", strings.Repeat("conectix", 200)) },
		exit: "error", names: []string{"c.vhd"}})
	add(kase{name: "image FIFO named like a disk", setup: func(tr *tree) { fifo(tr, "/root/c.img") },
		exit: "error", names: []string{"c.img", "not a regular file"}})
	add(kase{name: "image NTFS volume", setup: func(tr *tree) {
		b, err := os.ReadFile(fixtures.NTFSImage("../.."))
		tr.must(err)
		tr.must(os.WriteFile(tr.clear("/root/c.img"), b, 0o644))
	}, check: func(t *testing.T, r result) {
		hasRow("SELECT * FROM foreach(row={SELECT OSPath FROM glob(globs=['/**/*.img'", 50)(t, r)
		hasRow("SELECT * FROM foreach(row={SELECT OSPath FROM glob(globs=['/**/*.vhd'", 21)(t, r)
	}})
	// Extracted USN journals: a FIFO is refused by name; a real one is read.
	add(kase{name: "usn journal FIFO", setup: func(tr *tree) { fifo(tr, "/root/$Extend/$J") },
		exit: "error", names: []string{"$J"}})
	add(kase{name: "usn journal sample", setup: func(tr *tree) {
		b, err := os.ReadFile("../../plugins/usnjrnl/testdata/go-ntfs-usn-sample.bin")
		tr.must(err)
		tr.must(os.WriteFile(tr.clear("/root/$Extend/$J"), b, 0o644))
	}, check: hasRow("SELECT * FROM foreach(row={SELECT OSPath FROM glob(globs='/**/$J'", 208)})
	add(kase{name: "accessor typo", accessor: "fiel", exit: "error", names: []string{"fiel"}})
	return cs
}

func TestAdversarial(t *testing.T) {
	for _, c := range cases() {
		c := c
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			tr := newTree(t, c.windows)
			if c.setup != nil {
				c.setup(tr)
			}
			count(&figures.cases)
			root := tr.root
			if c.root != nil {
				root = c.root(tr)
			}
			acc := c.accessor
			if acc == "" {
				acc = "auto"
			}
			res, ok := runAll(t, tr, root, acc, c.pluginsOnly)
			if !ok {
				count(&figures.hangs)
				t.Fatalf("did not finish within %v", bound)
			}
			if strings.Contains(res.text, marker) || strings.Contains(res.text, markerSHA) {
				count(&figures.outside)
				t.Errorf("read outside Root:\n%s", excerpt(res.text, marker))
			}
			if strings.Contains(res.log, "internal error") || strings.Contains(res.log, "PANIC") {
				t.Errorf("panic:\n%s", res.log)
			}
			errs, warns := strings.Contains(res.log, "ERROR:"), strings.Contains(res.log, "WARN:")
			unexpected := false
			switch c.exit {
			case "error":
				unexpected = !errs
			case "warn":
				unexpected = errs || !warns || len(res.rowsOf("SELECT * FROM azure_run_executions")) != 0
			default:
				unexpected = errs || warns
			}
			if unexpected {
				count(&figures.unexpected)
				t.Errorf("exit: want %q, log:\n%s", c.exit, res.log)
			}
			for _, n := range c.names {
				if !strings.Contains(res.text, n) && !strings.Contains(res.text, strings.ReplaceAll(n, `\`, `\\`)) {
					count(&figures.silent)
					t.Errorf("nothing names %s; log:\n%s", n, res.log)
				}
			}
			if c.check != nil {
				c.check(t, res)
			}
		})
	}
}

func excerpt(s, needle string) string {
	i := strings.Index(s, needle)
	if i < 0 {
		i = 0
	}
	lo, hi := max(0, i-300), min(len(s), i+300)
	return s[lo:hi]
}

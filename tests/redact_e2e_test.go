package tests

import (
	"archive/zip"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// plantedSecrets are command lines and output an attacker or admin types,
// each holding a unique secret (the LEAK... word). They are planted into a
// copy of the Linux fixture: the script's stdout, the status file's
// message, the Run Command handler log and waagent.log.
var plantedSecrets = []struct{ text, secret string }{
	{"mysql -uroot -pLEAK01mysql prod", "LEAK01mysql"},
	{"sshpass -p LEAK02sshpass ssh root@10.0.0.5", "LEAK02sshpass"},
	{"PASSWORD=LEAK03env ./run.sh", "LEAK03env"},
	{"DB_PASSWORD=LEAK04env GITHUB_TOKEN=LEAK05tok make", "LEAK04env"},
	{"export GITHUB_TOKEN=LEAK05tok", "LEAK05tok"},
	{"curl -u admin:LEAK06curl https://jenkins/api", "LEAK06curl"},
	{"wget --password=LEAK07wget http://x/f", "LEAK07wget"},
	{"psql postgresql://app:LEAK08pg@db/prod", "LEAK08pg"},
	{"net user backdoor LEAK09net /add", "LEAK09net"},
	{"$p = ConvertTo-SecureString 'LEAK10ss' -AsPlainText -Force", "LEAK10ss"},
	{"Server=db;User Id=sa;Password=LEAK11cs;", "LEAK11cs"},
	{"DefaultEndpointsProtocol=https;AccountName=a;AccountKey=LEAK12ak==;", "LEAK12ak"},
	{"curl -H 'Authorization: Bearer LEAK13bearer0123456789'", "LEAK13bearer"},
	{"https://a.blob.core.windows.net/c/x.sh?sv=1&sig=LEAK15sig%3D", "LEAK15sig"},
	{"done, password=LEAK16out", "LEAK16out"},
	{"sqlcmd -S db -U sa -P LEAK17sql", "LEAK17sql"},
}

const plantedPEM = "-----BEGIN RSA PRIVATE KEY-----\nLEAK14pemBODY\n-----END RSA PRIVATE KEY-----"

// With RedactSecrets=Y no planted secret reaches stdout, an --output
// folder or a .zip collection; with RedactSecrets=N they do (so the
// secrets were planted where the artifacts read).
func TestCLIRedactsPlantedSecrets(t *testing.T) {
	root := filepath.Join(t.TempDir(), "root")
	copyTree(t, filepath.Join("fixtures", "linux"), root)
	var lines []string
	for _, p := range plantedSecrets {
		lines = append(lines, p.text)
	}
	all := strings.Join(lines, "\n") + "\n" + plantedPEM + "\n"
	appendFile(t, filepath.Join(root, "var/lib/waagent/run-command/download/3/stdout"), all)
	appendFile(t, filepath.Join(root, "var/lib/waagent/run-command/download/3/stderr"), all)
	status := filepath.Join(root, "var/lib/waagent/Microsoft.CPlat.Core.RunCommandLinux-1.0.5/status/3.status")
	b, err := os.ReadFile(status)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(status, []byte(strings.Replace(string(b), `"Enable in progress"`, `"Enable in progress: password=LEAK16out"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	var hl, al strings.Builder
	for _, l := range lines {
		hl.WriteString(`time=2025-03-14T10:31:05Z version=v1.0.5/git@5b1e3a7-clean operation=enable seq=3 event="executing command" cmd="` + strings.ReplaceAll(l, `"`, `'`) + "\"\n")
		al.WriteString("2025-03-14T10:31:07.000000Z INFO ExtHandler ExtHandler Executing: " + l + "\n")
	}
	al.WriteString("2025-03-14T10:31:08.000000Z INFO ExtHandler ExtHandler key:\n" + plantedPEM + "\n")
	appendFile(t, filepath.Join(root, "var/log/azure/run-command/handler.log"), hl.String())
	appendFile(t, filepath.Join(root, "var/log/waagent.log"), al.String())

	arts := []string{"Linux.Azure.RunCommand", "Linux.Azure.AgentLogs", "Linux.Azure.HandlerLogs", "Linux.Azure.CustomScript", "Linux.Azure.GoalStates"}
	secrets := []string{"LEAK14pem"}
	for _, p := range plantedSecrets {
		secrets = append(secrets, p.secret)
	}
	leaks := func(where, text string) {
		t.Helper()
		for _, s := range secrets {
			if strings.Contains(text, s) {
				i := strings.Index(text, s)
				t.Errorf("%s: secret %s leaked: ...%s...", where, s, text[max(0, i-80):min(len(text), i+40)])
			}
		}
	}
	collect := func(extra ...string) string {
		t.Helper()
		args := append([]string{"artifacts", "collect"}, arts...)
		args = append(args, "--args", "Root="+root, "--format", "jsonl")
		stdout, stderr, err := run(t, append(args, extra...)...)
		if err != nil {
			t.Fatalf("collect %v: %v\n%s", extra, err, stderr)
		}
		return stdout + stderr
	}

	// Redaction off: every planted secret is in the output.
	unred := collect("--args", "RedactSecrets=N")
	for _, s := range secrets {
		if !strings.Contains(unred, s) {
			t.Errorf("RedactSecrets=N: %s not in the output: it was not planted where the artifacts read", s)
		}
	}

	leaks("stdout", collect())
	dir := filepath.Join(t.TempDir(), "out")
	collect("--output", dir)
	n := 0
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := os.ReadFile(p)
		n += len(b)
		leaks("--output "+p, string(b))
		return nil
	})
	if n == 0 {
		t.Error("--output wrote nothing")
	}
	zp := filepath.Join(t.TempDir(), "c.zip")
	collect("--output", zp)
	zr, err := zip.OpenReader(zp)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		leaks("zip "+f.Name, string(b))
	}
}

func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(out, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func appendFile(t *testing.T, p, s string) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

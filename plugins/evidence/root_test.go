package evidence

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

func mkTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, content := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestParseEvPath(t *testing.T) {
	cases := []struct {
		in, out string
		windows bool
	}{
		{"/var/lib/waagent/", "/var/lib/waagent", false},
		{"/var/lib/../lib/./waagent", "/var/lib/waagent", false},
		{`C:\Packages\Plugins`, `C:\Packages\Plugins`, true},
		{`c:/Packages/Plugins/`, `C:\Packages\Plugins`, true},
		{`\WindowsAzure\Logs`, `C:\WindowsAzure\Logs`, true},
		{"/", "/", false},
		{`C:`, `C:\`, true},
	}
	for _, c := range cases {
		ev := ParseEvPath(c.in)
		if ev.String() != c.out || ev.Windows != c.windows {
			t.Errorf("ParseEvPath(%q) = %q windows=%v, want %q windows=%v", c.in, ev.String(), ev.Windows, c.out, c.windows)
		}
	}
	if got := JoinOSPath(`C:\Packages`, "Plugins", "x.settings"); got != `C:\Packages\Plugins\x.settings` {
		t.Errorf("JoinOSPath = %q", got)
	}
	if got := ParseEvPath("/a/b/c").Dir().String(); got != "/a/b" {
		t.Errorf("Dir = %q", got)
	}
}

func TestRootRemapsLinuxPaths(t *testing.T) {
	base := mkTree(t, map[string]string{
		"var/lib/waagent/Microsoft.CPlat.Core.RunCommandLinux-1.0.5/config/0.settings": "{}",
		"var/lib/waagent/Microsoft.CPlat.Core.RunCommandLinux-1.0.5/mrseq":             "3",
	})
	r := NewRoot(OSAccessor{}, base)
	entries, err := r.ReadDir("/var/lib/waagent/Microsoft.CPlat.Core.RunCommandLinux-1.0.5")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[0].Name != "config" || entries[1].Name != "mrseq" {
		t.Fatalf("entries = %+v", entries)
	}
	if entries[1].OSPath != "/var/lib/waagent/Microsoft.CPlat.Core.RunCommandLinux-1.0.5/mrseq" {
		t.Errorf("OSPath = %q", entries[1].OSPath)
	}
	if entries[1].Size != 1 || entries[1].Mtime.IsZero() || entries[1].Mtime.Location() != time.UTC {
		t.Errorf("stat = %+v", entries[1].FileInfo)
	}
	// Linux paths are case-sensitive, as on the VM.
	if r.Exists("/var/lib/WAAGENT") {
		t.Error("Linux lookup must be case-sensitive")
	}
	// The error names the evidence path, not the host path.
	_, err = r.Open("/var/lib/waagent/missing")
	if !IsNotExist(err) || !bytes.Contains([]byte(err.Error()), []byte("/var/lib/waagent/missing")) ||
		bytes.Contains([]byte(err.Error()), []byte(base)) {
		t.Errorf("error = %v", err)
	}
}

func TestRootWindowsCaseInsensitive(t *testing.T) {
	base := mkTree(t, map[string]string{
		"Packages/Plugins/Microsoft.CPlat.Core.RunCommandWindows/1.1.22/RuntimeSettings/0.settings": "{}",
		"WindowsAzure/Logs/WaAppAgent.log": "x",
	})
	r := NewRoot(OSAccessor{}, base)
	f, err := r.Open(`C:\packages\PLUGINS\microsoft.cplat.core.runcommandwindows\1.1.22\runtimesettings\0.SETTINGS`)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(f)
	f.Close()
	if string(b) != "{}" {
		t.Errorf("content = %q", b)
	}
	got, err := r.Glob(`C:\Packages\Plugins\*\*\RuntimeSettings\*.settings`)
	if err != nil || len(got) != 1 {
		t.Fatalf("glob = %v, %v", got, err)
	}
	want := `C:\Packages\Plugins\Microsoft.CPlat.Core.RunCommandWindows\1.1.22\RuntimeSettings\0.settings`
	if got[0].OSPath != want {
		t.Errorf("OSPath = %q, want %q", got[0].OSPath, want)
	}
	// Spelled in other case, the OSPath reports the evidence's own spelling.
	got, _ = r.Glob(`C:\windowsazure\logs\waappagent.log`)
	if len(got) != 1 || got[0].OSPath != `C:\WindowsAzure\Logs\WaAppAgent.log` {
		t.Errorf("glob = %+v", got)
	}
	if _, err := r.Open(`D:\CollectGuestLogsTemp\x.zip`); err == nil {
		t.Error("a D: path must not resolve into a C: root")
	}
}

func TestGlobDoesNotFollowSymlinkLoops(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symlinks")
	}
	base := mkTree(t, map[string]string{"d/a/f.txt": "1"})
	if err := os.Symlink(".", filepath.Join(base, "d", "a", "loop")); err != nil {
		t.Fatal(err)
	}
	r := NewRoot(OSAccessor{}, base)
	got, _ := r.Glob("/d/*/*/*")
	if len(got) != 0 {
		t.Errorf("glob through a symlink loop: %+v", got)
	}
	got, _ = r.Glob("/d/a/*")
	if len(got) != 2 || !got[1].IsLink {
		t.Errorf("glob = %+v", got)
	}
}

func TestReadCappedAndHash(t *testing.T) {
	base := mkTree(t, map[string]string{"f": "hello world"})
	r := NewRoot(OSAccessor{}, base)
	b, trunc, err := r.ReadCapped("/f", 5)
	if err != nil || string(b) != "hello" || !trunc {
		t.Errorf("ReadCapped = %q %v %v", b, trunc, err)
	}
	b, trunc, _ = r.ReadCapped("/f", 11)
	if string(b) != "hello world" || trunc {
		t.Errorf("ReadCapped = %q %v", b, trunc)
	}
	h, n, err := r.SHA256("/f")
	if err != nil || n != 11 || h != "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9" {
		t.Errorf("SHA256 = %s %d %v", h, n, err)
	}
	if _, _, err := r.ReadCapped("/", 5); err == nil {
		t.Error("reading a directory must fail")
	}
}

func TestDecodeText(t *testing.T) {
	utf16le := []byte{0xFF, 0xFE, '[', 0, '{', 0, '}', 0, ']', 0}
	noBOM := []byte{'[', 0, '{', 0, '}', 0, ']', 0}
	cases := []struct {
		in   []byte
		out  string
		kind string
	}{
		{[]byte("[{}]"), "[{}]", EncUTF8},
		{append([]byte{0xEF, 0xBB, 0xBF}, "[{}]"...), "[{}]", EncUTF8BOM},
		{utf16le, "[{}]", EncUTF16LE},
		{noBOM, "[{}]", EncUTF16LE},
		{[]byte{0xFE, 0xFF, 0, '[', 0, ']'}, "[]", EncUTF16BE},
		{[]byte{0, '[', 0, '{', 0, '}', 0, ']'}, "[{}]", EncUTF16BE}, // BE without a BOM
		{[]byte{0, '[', 'x', '{'}, "\x00[x{", EncUTF8},               // NULs not in every pair: not UTF-16
		{nil, "", EncUTF8},
	}
	for _, c := range cases {
		out, kind := DecodeText(c.in)
		if string(out) != c.out || kind != c.kind {
			t.Errorf("DecodeText(%q) = %q %s, want %q %s", c.in, out, kind, c.out, c.kind)
		}
	}
}

func TestRegistry(t *testing.T) {
	if _, err := Get(nil, "no-such"); !errors.Is(err, ErrUnknownAccessor) {
		t.Errorf("err = %v", err)
	}
	a, err := Get(nil, "")
	if err != nil || a == nil {
		t.Fatalf("default accessor: %v", err)
	}
	names := Names()
	if len(names) < 2 || names[0] != "auto" || names[1] != "file" {
		t.Errorf("names = %v", names)
	}
}

func FuzzDecodeText(f *testing.F) {
	f.Add([]byte("[{}]"))
	f.Add([]byte{0xFF, 0xFE, '[', 0})
	f.Add([]byte{0xFE, 0xFF, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		out, _ := DecodeText(b)
		if len(out) > 3*len(b)+3 {
			t.Fatalf("output grew: %d -> %d", len(b), len(out))
		}
	})
}

func FuzzParseEvPath(f *testing.F) {
	for _, s := range []string{"/var/lib/waagent", `C:\Packages\..\x`, `c:`, `\\server\share`, "../../.."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ev := ParseEvPath(s)
		again := ParseEvPath(ev.String())
		if again.String() != ev.String() {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, ev.String(), again.String())
		}
	})
}

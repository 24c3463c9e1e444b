package mftscan

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io/fs"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/internal/fixtures"
	"github.com/azvql/azvql/plugins/catalog"
	"github.com/azvql/azvql/plugins/diskimage"
	"github.com/azvql/azvql/plugins/evidence"
	"github.com/azvql/azvql/plugins/usnjrnl"
	ntfs "www.velocidex.com/golang/go-ntfs/parser"
	"www.velocidex.com/golang/vfilter"
)

const handler = `Packages\Plugins\Microsoft.CPlat.Core.RunCommandWindows`

// deletedImage builds an NTFS image of the Windows fixture with
// mkntfs and ntfs-3g, then deletes one handler folder through the file
// system, as the agent does when an extension is removed.
func deletedImage(t *testing.T) string {
	for _, tool := range []string{"mkntfs", "ntfs-3g"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("MFT recovery test skipped: %s not installed (Debian: apt-get install ntfs-3g)", tool)
		}
	}
	if _, err := os.Stat("/dev/fuse"); err != nil || os.Getuid() != 0 {
		t.Skip("MFT recovery test skipped: an ntfs-3g mount needs /dev/fuse and root")
	}
	tmp := t.TempDir()
	img := filepath.Join(tmp, "c.ntfs")
	run := func(name string, args ...string) {
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	run("truncate", "-s", "24M", img)
	run("mkntfs", "-q", "-F", "-Q", "-L", "azvql", img)
	mnt := filepath.Join(tmp, "mnt")
	os.Mkdir(mnt, 0o755)
	if out, err := exec.Command("timeout", "30", "ntfs-3g", img, mnt).CombinedOutput(); err != nil {
		t.Skipf("MFT recovery test skipped: ntfs-3g cannot mount here (%v: %s)", err, out)
	}
	unmounted := false
	defer func() {
		if !unmounted {
			exec.Command("umount", mnt).Run()
		}
	}()
	run("cp", "-r", "../../tests/fixtures/windows/.", mnt+"/")
	run("rm", "-rf", filepath.Join(mnt, filepath.FromSlash(strings.ReplaceAll(handler, `\`, "/"))))
	if exec.Command("fusermount", "-u", mnt).Run() != nil {
		run("umount", mnt)
	}
	unmounted = true
	return img
}

func TestRecoverDeletedHandlerFolder(t *testing.T) {
	img := deletedImage(t)
	image, err := diskimage.Open(img, diskimage.AutoPartition)
	if err != nil {
		t.Fatal(err)
	}
	defer image.Close()
	vol := image.Accessor().(interface{ NTFSContext() *ntfs.NTFSContext }).NTFSContext()
	got := map[string]Entry{}
	var probs []Problem
	err = Scan(context.Background(), vol, []string{`C:\Packages\Plugins`},
		func(e Entry) error { got[strings.ToLower(e.Path)] = e; return nil },
		func(p Problem) { probs = append(probs, p) })
	if err != nil {
		t.Fatal(err)
	}
	if len(probs) > 0 {
		t.Errorf("problems on a clean volume: %v", probs)
	}
	// Every file of the deleted folder is found by its full path, not in
	// use; small ones (resident) with their exact content.
	root := filepath.Join("../../tests/fixtures/windows", filepath.FromSlash(strings.ReplaceAll(handler, `\`, "/")))
	resident := 0
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel("../../tests/fixtures/windows", p)
		want := `c:\` + strings.ToLower(strings.ReplaceAll(rel, "/", `\`))
		e, ok := got[want]
		if !ok {
			t.Errorf("deleted %s not found in the MFT", want)
			return nil
		}
		if e.InUse || !e.PathComplete {
			t.Errorf("%s: InUse %v PathComplete %v (%s)", want, e.InUse, e.PathComplete, e.PathNote)
		}
		data, _ := os.ReadFile(p)
		if e.Size != int64(len(data)) {
			t.Errorf("%s: size %d, want %d", want, e.Size, len(data))
		}
		if e.Resident {
			resident++
		}
		// Fresh volume: nothing reused the clusters, so every file's
		// content comes back exactly, from the record or the clusters.
		if len(data) > 0 && (!bytes.Equal(e.Content, data) || e.ContentSource == "" || e.ContentZeros) {
			t.Errorf("%s: content (%s, zeros %v, error %q) differs from the file", want, e.ContentSource, e.ContentZeros, e.ContentError)
		}
		return nil
	})
	t.Logf("%d entries under Packages\\Plugins, %d resident files of the deleted folder recovered", len(got), resident)
	if resident == 0 {
		t.Error("no resident content recovered")
	}
	set := got[strings.ToLower(`C:\`+handler+`\1.1.22\RuntimeSettings\1.settings`)]
	if set.ContentSource != "clusters" || !bytes.Contains(set.Content, []byte("runtimeSettings")) {
		t.Errorf("1.settings (non-resident) not recovered from its clusters: %+v", set)
	}
	st := got[strings.ToLower(`C:\`+handler+`\1.1.22\Status\1.status`)]
	if !st.Resident || !bytes.Contains(st.Content, []byte(`"status"`)) {
		t.Errorf("1.status not recovered with its content: %+v", st)
	}
	// A folder still in use is reported as in use.
	if e, ok := got[strings.ToLower(`C:\Packages\Plugins\Microsoft.Compute.CustomScriptExtension`)]; !ok || !e.InUse || !e.IsDir {
		t.Errorf("live folder: %+v", e)
	}
}

func TestRebuildTerminates(t *testing.T) {
	nodes := []node{
		5: {name: ".", parent: 5, ok: true},
		6: {name: "a", parent: 7, ok: true, seq: 1, parentSeq: 1},
		7: {name: "b", parent: 6, ok: true, seq: 1, parentSeq: 1},
		8: {name: "c", parent: 9, ok: true},
		9: {},
	}
	if p, ok, note := rebuild(nodes, 6); ok || !strings.Contains(note, "loop") || !strings.HasPrefix(p, `?\`) {
		t.Errorf("loop: %q %v %q", p, ok, note)
	}
	if p, ok, note := rebuild(nodes, 8); ok || p != `?\c` || !strings.Contains(note, "parent record 9") {
		t.Errorf("missing parent: %q %v %q", p, ok, note)
	}
}

func TestPluginRows(t *testing.T) {
	img := deletedImage(t)
	image, err := diskimage.Open(img, diskimage.AutoPartition)
	if err != nil {
		t.Fatal(err)
	}
	defer image.Close()
	evidence.Register("mftscan-test", func(vfilter.Scope) (evidence.Accessor, error) { return image.Accessor(), nil })
	scope := vfilter.NewScope()
	var rows []*ordereddict.Dict
	for r := range (EntriesPlugin{}).Call(context.Background(), scope, ordereddict.NewDict().Set("accessor", "mftscan-test")) {
		rows = append(rows, r.(*ordereddict.Dict))
	}
	var settings *ordereddict.Dict
	for _, r := range rows {
		if got := strings.Join(r.Keys(), ","); got != strings.Join(EntriesPlugin{}.Columns(), ",") {
			t.Fatalf("columns %s", got)
		}
		if p, _ := r.GetString("OSPath"); p == `C:\`+handler+`\1.1.22\RuntimeSettings\1.settings` {
			settings = r
		}
	}
	if settings == nil {
		t.Fatalf("deleted 1.settings not among %d rows", len(rows))
	}
	inUse, _ := settings.Get("InUse")
	src, _ := settings.GetString("ContentSource")
	content, _ := settings.GetString("Content")
	if inUse != false || src != "clusters" || !strings.Contains(content, `"runtimeSettings"`) {
		t.Errorf("1.settings row: %v", settings)
	}
	// Parsed as live files are: the command of run 1 (its password
	// redacted) and the outcome its status recorded.
	if cmd, _ := settings.GetString("Command"); cmd != "net user svc_support '[REDACTED]' /add\nnet localgroup administrators svc_support /add" {
		t.Errorf("recovered command %q", cmd)
	}
	for _, r := range rows {
		if p, _ := r.GetString("OSPath"); p == `C:\`+handler+`\1.1.22\Status\1.status` {
			if st, _ := r.GetString("Status"); st != "success" {
				t.Errorf("recovered status %v", r)
			}
		}
	}
	// Not an NTFS volume: said so, no rows.
	var logs bytes.Buffer
	scope.SetLogger(log.New(&logs, "", 0))
	for range (EntriesPlugin{}).Call(context.Background(), scope, ordereddict.NewDict().Set("accessor", "file")) {
		t.Error("rows from the file accessor")
	}
	if !strings.Contains(logs.String(), `accessor "file" is not an NTFS volume`) {
		t.Errorf("log: %q", logs.String())
	}
}

// FuzzScanRawMFT feeds damaged $MFT streams (broken fixups, parent
// loops, garbage attributes) to the scan: it must end, without panics.
func FuzzScanRawMFT(f *testing.F) {
	seed, err := os.ReadFile("testdata/mft-mkntfs-empty.bin")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add(seed[:4096])
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64<<10 {
			return
		}
		v := ntfs.GetNTFSContextFromRawMFT(bytes.NewReader(data), 4096, 1024)
		_ = scanRecords(context.Background(), v, int64(len(data)/1024), nil,
			func(e Entry) error {
				if e.PathComplete && !strings.HasPrefix(e.Path, `C:\`) {
					t.Fatalf("complete path %q not under C:", e.Path)
				}
				return nil
			}, func(Problem) {})
	})
}

func TestScanSeedMFT(t *testing.T) {
	seed, _ := os.ReadFile("testdata/mft-mkntfs-empty.bin")
	v := ntfs.GetNTFSContextFromRawMFT(bytes.NewReader(seed), 4096, 1024)
	var names []string
	scanRecords(context.Background(), v, int64(len(seed)/1024), nil, func(e Entry) error {
		names = append(names, e.Path)
		return nil
	}, func(p Problem) { t.Errorf("%v", p) })
	if got := strings.Join(names, " "); !strings.Contains(got, `C:\$MFT`) || !strings.Contains(got, `C:\$UpCase C:\$Extend`) {
		t.Errorf("paths: %s", got)
	}
}

// BenchmarkScan100k: a 100,000-record $MFT (mkntfs's first 24 records,
// repeated: real records with their fixups) scanned with the default
// extension prefixes, as azure_mft_entries does; reports records/s.
func BenchmarkScan100k(b *testing.B) {
	seed, err := os.ReadFile("testdata/mft-mkntfs-empty.bin")
	if err != nil {
		b.Fatal(err)
	}
	const n = 100000
	mft := make([]byte, 0, n*1024)
	for len(mft) < n*1024 {
		mft = append(mft, seed...)
	}
	mft = mft[:n*1024]
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v := ntfs.GetNTFSContextFromRawMFT(bytes.NewReader(mft), 4096, 1024)
		err := scanRecords(context.Background(), v, n, append([]string(nil), ExtensionPrefixes...),
			func(Entry) error { return nil }, func(Problem) {})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
}

func TestPartialPathsKept(t *testing.T) {
	pre := []string{`c:\packages\plugins\`}
	for path, want := range map[string]bool{
		`?\1.1.22\RuntimeSettings\3.settings`: true,
		`?\Status\3.status`:                   true,
		`?\Users\x\notes.txt`:                 false,
		`C:\Packages\Plugins\X\a`:             true,
		`C:\Windows\a`:                        false,
	} {
		if got := matches(path, !strings.HasPrefix(path, `?`), pre); got != want {
			t.Errorf("%s: %v", path, got)
		}
	}
}

// TestExecutionsEveryWindowsHandler: on the committed image (every
// handler folder deleted through ntfs-3g), azure_mft_executions gives
// back, for every Windows handler of the catalogue, at least one run
// whose command and status came from the deleted files; and every run
// is as the fixture's live files say (its .status outcome).
func TestExecutionsEveryWindowsHandler(t *testing.T) {
	scope := vfilter.NewScope()
	var logs bytes.Buffer
	scope.SetLogger(log.New(&logs, "", 0))
	img := fixtures.NTFSImage("../..")
	byHandler := map[string]int{}
	rows := 0
	for r := range (ExecutionsPlugin{}).Call(context.Background(), scope, ordereddict.NewDict().Set("image", img)) {
		rows++
		d := r.(*ordereddict.Dict)
		h, _ := d.GetString("Handler")
		cmd, _ := d.Get("Command")
		st, _ := d.GetString("Status")
		del, _ := d.Get("Deleted")
		if del != true {
			t.Errorf("%s: not deleted: %v", h, d)
		}
		if cmd != nil && st != "" {
			byHandler[h]++
		}
	}
	if logs.Len() > 0 {
		t.Errorf("log: %s", logs.String())
	}
	for _, h := range catalog.Handlers {
		if h.OS == catalog.Windows && byHandler[h.Name] == 0 {
			t.Errorf("%s: no run with its command and status recovered (%d rows)", h.Name, rows)
		}
	}
	// The protected-only CSE run 1 keeps its outcome without a command.
	if rows != 7 {
		t.Errorf("%d runs, want the fixture's 7", rows)
	}
}

// damagedCopy is the committed image with record's bytes changed by f.
func damagedCopy(t *testing.T, record int64, f func(rec []byte)) string {
	data, err := os.ReadFile(fixtures.NTFSImage("../.."))
	if err != nil {
		t.Fatal(err)
	}
	// $MFT starts at the cluster the boot sector names.
	cluster := int64(binary.LittleEndian.Uint16(data[11:])) * int64(data[13])
	off := int64(binary.LittleEndian.Uint64(data[0x30:]))*cluster + record*1024
	f(data[off : off+1024])
	p := filepath.Join(t.TempDir(), "damaged.ntfs")
	if err := os.WriteFile(p, data, 0o444); err != nil {
		t.Fatal(err)
	}
	return p
}

// recordOf finds the MFT record of a path on the committed image.
func recordOf(t *testing.T, path string) int64 {
	for r := range (EntriesPlugin{}).Call(context.Background(), vfilter.NewScope(),
		ordereddict.NewDict().Set("image", fixtures.NTFSImage("../.."))) {
		d := r.(*ordereddict.Dict)
		if p, _ := d.GetString("OSPath"); p == path {
			n, _ := d.Get("Record")
			return n.(int64)
		}
	}
	t.Fatalf("%s not on the image", path)
	return 0
}

// TestBadRecordsReported: a record with a broken fixup (a torn write)
// and one whose parent reference loops are named with the image, the
// record and its offset; every other deleted file is still recovered.
func TestBadRecordsReported(t *testing.T) {
	const dir = `C:\Packages\Plugins\Microsoft.CPlat.Core.RunCommandWindows\1.1.22\RuntimeSettings\`
	torn := recordOf(t, dir+`1.settings`)
	img := damagedCopy(t, torn, func(rec []byte) {
		rec[510] ^= 0xff // the sector's last bytes no longer match the update sequence number
	})
	scope := vfilter.NewScope()
	var logs bytes.Buffer
	scope.SetLogger(log.New(&logs, "", 0))
	got := map[string]bool{}
	for r := range (EntriesPlugin{}).Call(context.Background(), scope, ordereddict.NewDict().Set("image", img)) {
		p, _ := r.(*ordereddict.Dict).GetString("OSPath")
		got[p] = true
	}
	want := fmt.Sprintf("image %s partition 0: MFT record %d (offset %d in $MFT): ", img, torn, torn*1024)
	if !strings.Contains(logs.String(), want) {
		t.Errorf("log does not name the torn record (%q):\n%s", want, logs.String())
	}
	if got[dir+`1.settings`] {
		t.Errorf("torn record read as if whole")
	}
	for _, f := range []string{`0.settings`, `2.settings`} {
		if !got[dir+f] {
			t.Errorf("%s not recovered next to the torn record", f)
		}
	}
	t.Logf("log: %s", logs.String())
}

// TestRunOutsideVolume: a deleted file whose run list points past the
// end of the volume gets a ContentError, not another file's bytes or
// zeros; the scan goes on.
func TestRunOutsideVolume(t *testing.T) {
	const path = `C:\Packages\Plugins\Microsoft.CPlat.Core.RunCommandWindows\1.1.22\RuntimeSettings\0.settings`
	rec := recordOf(t, path)
	img := damagedCopy(t, rec, func(r []byte) {
		for a := int(binary.LittleEndian.Uint16(r[20:])); a+16 < len(r); {
			typ, length := binary.LittleEndian.Uint32(r[a:]), int(binary.LittleEndian.Uint32(r[a+4:]))
			if typ == 0xffffffff || length <= 0 {
				break
			}
			if typ == 0x80 && r[a+8] == 1 { // non-resident $DATA
				run := a + int(binary.LittleEndian.Uint16(r[a+32:]))
				lenBytes, offBytes := int(r[run]&0xf), int(r[run]>>4)
				for i := 0; i < offBytes; i++ {
					r[run+1+lenBytes+i] = 0x7f // a cluster far past the 4 MiB volume
				}
				r[run+1+lenBytes+offBytes-1] = 0x3f // positive
				return
			}
			a += length
		}
		t.Fatal("no non-resident $DATA in the record")
	})
	scope := vfilter.NewScope()
	var logs bytes.Buffer
	scope.SetLogger(log.New(&logs, "", 0))
	rows := 0
	var row *ordereddict.Dict
	for r := range (EntriesPlugin{}).Call(context.Background(), scope, ordereddict.NewDict().Set("image", img)) {
		rows++
		if p, _ := r.(*ordereddict.Dict).GetString("OSPath"); p == path {
			row = r.(*ordereddict.Dict)
		}
	}
	if row == nil {
		t.Fatalf("%s not found (%d rows); log:\n%s", path, rows, logs.String())
	}
	cerr, _ := row.Get("ContentError")
	src, _ := row.Get("ContentSource")
	content, _ := row.Get("Content")
	t.Logf("ContentError %v, ContentSource %v, %d rows", cerr, src, rows)
	if cerr != "clusters not readable: the run list points past the end of the volume" || src != nil || content != nil {
		t.Errorf("run outside the volume: ContentError %v, ContentSource %v, Content %v", cerr, src, content)
	}
	if rows < 70 {
		t.Errorf("%d rows: the rest was not read", rows)
	}
}

// TestRunsFromUSNNames: a run whose files are gone from the MFT is
// rebuilt from journal names alone (script3.ps1, 3.settings, the
// Downloads\3 folder of a seq-layout handler), with the journal's
// create and delete times; unrelated names add nothing.
func TestRunsFromUSNNames(t *testing.T) {
	at := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }
	const rc = `C:\Packages\Plugins\Microsoft.CPlat.Core.RunCommandWindows\1.1.22`
	const cse = `C:\Packages\Plugins\Microsoft.Compute.CustomScriptExtension\1.10.18`
	runs := map[runKey]*runInfo{}
	for _, c := range []struct {
		path    string
		reasons []string
		attrs   uint32
		when    string
	}{
		{rc + `\Downloads\script3.ps1`, []string{"FILE_CREATE"}, 0x20, "2025-06-10T16:00:00Z"},
		{rc + `\RuntimeSettings\3.settings`, []string{"CLOSE", "FILE_CREATE"}, 0x20, "2025-06-10T15:59:58Z"},
		{rc + `\RuntimeSettings\3.settings`, []string{"CLOSE", "FILE_DELETE"}, 0x20, "2025-06-10T16:10:00Z"},
		{rc + `\Downloads\script3.ps1`, []string{"CLOSE", "FILE_DELETE"}, 0x20, "2025-06-10T16:10:01Z"},
		{cse + `\Downloads\3`, []string{"FILE_CREATE"}, 0x10, "2025-06-10T17:00:00Z"},
		{rc + `\HandlerManifest.json`, []string{"FILE_DELETE"}, 0x20, "2025-06-10T16:10:02Z"},
	} {
		name := c.path[strings.LastIndex(c.path, `\`)+1:]
		addUSN(runs, usnjrnl.Record{Name: name, Reasons: c.reasons, Attrs: c.attrs, Time: at(c.when)}, c.path)
	}
	if len(runs) != 2 {
		t.Fatalf("%d runs: %v", len(runs), runs)
	}
	r := runs[runKey{handler: "Microsoft.CPlat.Core.RunCommandWindows", version: "1.1.22", seq: 3}]
	if r == nil {
		t.Fatalf("run 3 of RunCommandWindows not rebuilt: %v", runs)
	}
	row := r.row(runKey{handler: "Microsoft.CPlat.Core.RunCommandWindows", version: "1.1.22", seq: 3})
	created, _ := row.Get("USNCreated")
	deleted, _ := row.Get("USNDeleted")
	ev, _ := row.GetString("Evidence")
	cmd, _ := row.Get("Command")
	if created != at("2025-06-10T15:59:58Z") || deleted != at("2025-06-10T16:10:01Z") || ev != "usn" || cmd != nil || len(r.files) != 2 {
		t.Errorf("run 3: %v", row)
	}
	if runs[runKey{handler: "Microsoft.Compute.CustomScriptExtension", version: "1.10.18", seq: 3}] == nil {
		t.Errorf("CSE Downloads\\3 folder not a run: %v", runs)
	}
}

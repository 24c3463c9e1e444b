package tests

// Disk images as evidence roots (issue 14): real file systems built by
// their own tools (mkfs.ext4 -d, mkntfs + ntfs-3g), a partition table
// written by sfdisk, containers converted by qemu-img. Every Linux (and,
// where an NTFS image can be built, Windows) artifact must give the same
// rows with --image as with Root= on the fixture folder.

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/azvql/azvql/internal/fixtures"
)

// needTools skips with one clear line naming what is missing.
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("image tests: Linux only (mkfs.ext4, mkntfs, sfdisk)")
	}
	var missing []string
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		t.Skipf("image tests skipped: %s not installed (Debian: apt-get install e2fsprogs fdisk ntfs-3g qemu-utils)", strings.Join(missing, ", "))
	}
}

func sh(t *testing.T, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// treeSize is the bytes under dir, for sizing the file system.
func treeSize(t *testing.T, dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil {
			if fi, err := d.Info(); err == nil {
				n += fi.Size() + 4096
			}
		}
		return nil
	})
	return n
}

// ext4Image builds an ext4 file system holding tree. mkfs.ext4 -d keeps
// whole seconds only: debugfs then writes each file's nanoseconds
// (mtime_extra = ns << 2; debugfs does not follow a final symlink) so the
// image carries the fixture's exact times.
func ext4Image(t *testing.T, tree, img string) {
	t.Helper()
	mb := treeSize(t, tree)/(1<<20)*2 + 8
	sh(t, "mkfs.ext4", "-q", "-F", "-I", "256", "-E", "root_owner=0:0", "-d", tree, img, fmt.Sprintf("%dM", mb))
	var cmds bytes.Buffer
	filepath.WalkDir(tree, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(tree, p)
		fmt.Fprintf(&cmds, "sif \"/%s\" mtime_extra %d\n", filepath.ToSlash(rel), int64(fi.ModTime().Nanosecond())<<2)
		return nil
	})
	script := img + ".debugfs"
	if err := os.WriteFile(script, cmds.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	sh(t, "debugfs", "-w", "-f", script, img)
}

// ntfsImage builds an NTFS file system holding tree (and an empty
// \Windows, which marks the OS volume), through a FUSE ntfs-3g mount.
func ntfsImage(t *testing.T, tree, img string) {
	t.Helper()
	if _, err := os.Stat("/dev/fuse"); err != nil || os.Getuid() != 0 {
		t.Skip("NTFS image tests skipped: an ntfs-3g mount needs /dev/fuse and root")
	}
	mb := treeSize(t, tree)/(1<<20)*2 + 16
	sh(t, "truncate", "-s", fmt.Sprintf("%dM", mb), img)
	sh(t, "mkntfs", "-q", "-F", "-Q", "-L", "azvql", img)
	mnt := img + ".mnt"
	os.MkdirAll(mnt, 0o755)
	if out, err := exec.Command("timeout", "30", "ntfs-3g", img, mnt).CombinedOutput(); err != nil {
		t.Skipf("NTFS image tests skipped: ntfs-3g cannot mount here (%v: %s)", err, bytes.TrimSpace(out))
	}
	defer func() {
		if exec.Command("fusermount", "-u", mnt).Run() != nil {
			exec.Command("umount", mnt).Run()
		}
	}()
	sh(t, "cp", "-a", tree+"/.", mnt+"/")
	os.MkdirAll(filepath.Join(mnt, "Windows"), 0o755)
}

// partitioned writes a disk holding fsImg (and, with blank > 0, an empty
// ext4 partition of that many MB before it) under a table written by
// sfdisk ("gpt" or "dos").
func partitioned(t *testing.T, label, fsImg, disk string, blankMB int64) {
	t.Helper()
	st, err := os.Stat(fsImg)
	if err != nil {
		t.Fatal(err)
	}
	sectors := (st.Size() + 511) / 512
	start := int64(2048)
	var table bytes.Buffer
	fmt.Fprintf(&table, "label: %s\n", label)
	typ := map[string]string{"gpt": "0FC63DAF-8483-4772-8E79-3D69D8477DE4", "dos": "83"}[label]
	if blankMB > 0 {
		blank := disk + ".blank"
		sh(t, "mkfs.ext4", "-q", "-F", blank, fmt.Sprintf("%dM", blankMB))
		fmt.Fprintf(&table, "start=%d, size=%d, type=%s\n", start, blankMB*2048, typ)
		defer copyInto(t, blank, disk, start)
		start += blankMB * 2048
	}
	if label == "dos" && bytes.HasPrefix(readHead(t, fsImg, 11)[3:], []byte("NTFS")) {
		typ = "7"
	}
	fmt.Fprintf(&table, "start=%d, size=%d, type=%s\n", start, sectors, typ)
	sh(t, "truncate", "-s", fmt.Sprint((start+sectors+2048)*512), disk)
	cmd := exec.Command("sfdisk", "-q", disk)
	cmd.Stdin = &table
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sfdisk: %v\n%s", err, out)
	}
	copyInto(t, fsImg, disk, start)
}

func readHead(t *testing.T, p string, n int) []byte {
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, n)
	f.Read(b)
	return b
}

func copyInto(t *testing.T, src, disk string, sector int64) {
	t.Helper()
	sh(t, "dd", "if="+src, "of="+disk, "bs=512", fmt.Sprintf("seek=%d", sector), "conv=notrunc", "status=none")
}

// collect runs artifacts with extra CLI args and returns the JSON lines.
func collect(t *testing.T, names []string, extra ...string) string {
	t.Helper()
	args := append([]string{"artifacts", "collect"}, names...)
	args = append(append(args, "--format", "jsonl"), extra...)
	stdout, stderr, err := run(t, args...)
	if err != nil {
		t.Fatalf("vql %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return stdout
}

// notOnImage are artifacts that read no VM evidence: the Activity Log
// ones read exports a responder is handed (a case folder, not the disk),
// and Generic.Azure.Utils only exports VQL for the others.
var notOnImage = map[string]bool{
	// Reads the MFT, which only the image has (TestImageDeletedExtensions).
	"Windows.Azure.DeletedExtensions": true,
	"Generic.Azure.ActivityLog":       true,
	"Generic.Azure.WhoRanIt":          true,
	"Generic.Azure.Utils":             true,
}

// artifactNames lists the artifacts matching pattern that read a VM's
// evidence, so each of them is compared on the image and the folder.
func artifactNames(t *testing.T, pattern string) []string {
	out, _, err := run(t, "artifacts", "list", pattern)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range strings.Fields(out) {
		if !notOnImage[n] {
			names = append(names, n)
		}
	}
	return names
}

func sameRows(t *testing.T, what, folder, image string) {
	t.Helper()
	if folder == image {
		return
	}
	fl, il := strings.Split(folder, "\n"), strings.Split(image, "\n")
	for i := 0; i < len(fl) || i < len(il); i++ {
		var f, g string
		if i < len(fl) {
			f = fl[i]
		}
		if i < len(il) {
			g = il[i]
		}
		if f != g {
			t.Errorf("%s: row %d differs:\nfolder: %s\nimage:  %s", what, i+1, f, g)
			return
		}
	}
}

var (
	linuxTrees   = []string{"linux", "linux-rc2", "linux-cse", "linux-bad", "linux-rc2-bad", "goalstates", "logs"}
	windowsTrees = []string{"windows", "windows-bad", "goalstates-windows"}
)

// withoutVolumeRows drops Generic.Azure.Timeline's rows from the NTFS
// volume (Source MFT or USN) and counts them.
func withoutVolumeRows(jsonl string) (string, int) {
	var keep []string
	n := 0
	for _, l := range strings.Split(jsonl, "\n") {
		if strings.Contains(l, `"_Source":"Generic.Azure.Timeline/`) &&
			(strings.Contains(l, `"Source":"MFT",`) || strings.Contains(l, `"Source":"USN",`)) {
			n++
			continue
		}
		keep = append(keep, l)
	}
	return strings.Join(keep, "\n"), n
}

func TestImageLinuxArtifactsSameRows(t *testing.T) {
	needTools(t, "mkfs.ext4", "debugfs", "sfdisk")
	tmp := t.TempDir()
	names := append(artifactNames(t, "Linux.*"), artifactNames(t, "Generic.*")...)
	for _, tree := range linuxTrees {
		t.Run(tree, func(t *testing.T) {
			dir, err := fixtures.CopyAndApply("fixtures", tree, tmp)
			if err != nil {
				t.Fatal(err)
			}
			fsImg := filepath.Join(tmp, tree+".ext4")
			ext4Image(t, dir, fsImg)
			disk := filepath.Join(tmp, tree+".img")
			partitioned(t, "gpt", fsImg, disk, 0)
			folder := collect(t, names, "--args", "Root="+dir)
			if strings.Count(folder, "\n") == 0 {
				t.Fatalf("no rows from the folder: the comparison would prove nothing")
			}
			sameRows(t, tree, folder, collect(t, names, "--image", disk))
		})
	}
}

func TestImageWindowsArtifactsSameRows(t *testing.T) {
	needTools(t, "mkntfs", "ntfs-3g", "sfdisk")
	tmp := t.TempDir()
	names := append(artifactNames(t, "Windows.*"), artifactNames(t, "Generic.*")...)
	for _, tree := range windowsTrees {
		t.Run(tree, func(t *testing.T) {
			dir, err := fixtures.CopyAndApply("fixtures", tree, tmp)
			if err != nil {
				t.Fatal(err)
			}
			fsImg := filepath.Join(tmp, tree+".ntfs")
			ntfsImage(t, dir, fsImg)
			disk := filepath.Join(tmp, tree+".img")
			partitioned(t, "dos", fsImg, disk, 0)
			folder := collect(t, names, "--args", "Root="+dir)
			if strings.Count(folder, "\n") == 0 {
				t.Fatalf("no rows from the folder: the comparison would prove nothing")
			}
			// On an NTFS image the timeline also has the volume's MFT
			// (and USN) rows, which a folder has not: the rest must match.
			image, volumeRows := withoutVolumeRows(collect(t, names, "--image", disk))
			if volumeRows == 0 {
				t.Errorf("%s: the timeline on the NTFS image has no MFT rows", tree)
			}
			sameRows(t, tree, folder, image)
			if tree == "windows" {
				ntfsTruncated(t, disk, fsImg)
			}
		})
	}
}

// ntfsTruncated cuts the NTFS volume to a third: what the cut lost is
// named (offset, reason), never read as zeros and silently absent.
func ntfsTruncated(t *testing.T, disk, fsImg string) {
	st, _ := os.Stat(fsImg)
	data, _ := os.ReadFile(disk)
	cut := disk + ".cut"
	os.WriteFile(cut, data[:(1<<20)+st.Size()/3], 0o444)
	stdout, stderr, err := run(t, "-v", "--image", cut, "artifacts", "collect", "Windows.Azure.RunCommand", "--format", "jsonl")
	if !strings.Contains(stderr, "NTFS structures lie past the end of the image") && !strings.Contains(stderr, "the root folder cannot be read") {
		t.Errorf("truncated NTFS read silently (err %v, %d bytes of rows):\n%s", err, len(stdout), stderr)
	}
}

// linuxDisk builds the "linux" fixture tree as an ext4 partition of a
// GPT disk (with blankMB > 0, after an empty ext4 partition).
func linuxDisk(t *testing.T, tmp string, blankMB int64) (dir, disk string) {
	t.Helper()
	dir, err := fixtures.CopyAndApply("fixtures", "linux", tmp)
	if err != nil {
		t.Fatal(err)
	}
	fsImg := filepath.Join(tmp, "linux.ext4")
	ext4Image(t, dir, fsImg)
	disk = filepath.Join(tmp, "linux.img")
	partitioned(t, "gpt", fsImg, disk, blankMB)
	return dir, disk
}

// Every container, converted from the same raw disk by an independent
// tool: qemu-img (fixed VHD, VHDX, sparse and flat VMDK) and ewfacquire
// (E01, in several segments).
func TestImageContainers(t *testing.T) {
	needTools(t, "mkfs.ext4", "debugfs", "sfdisk", "qemu-img")
	tmp := t.TempDir()
	dir, disk := linuxDisk(t, tmp, 0)
	names := []string{"Linux.Azure.RunCommand", "Generic.Azure.Executions"}
	want := collect(t, names, "--args", "Root="+dir)
	images := map[string][]string{
		"linux.vhd":       {"qemu-img", "convert", "-f", "raw", "-O", "vpc", "-o", "subformat=fixed"},
		"linux.vhdx":      {"qemu-img", "convert", "-f", "raw", "-O", "vhdx"},
		"linux.vmdk":      {"qemu-img", "convert", "-f", "raw", "-O", "vmdk"},
		"linux-flat.vmdk": {"qemu-img", "convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=monolithicFlat"},
	}
	for name, cmd := range images {
		out := filepath.Join(tmp, name)
		sh(t, cmd[0], append(cmd[1:], disk, out)...)
		sameRows(t, name, want, collect(t, names, "--image", out))
	}
	if _, err := exec.LookPath("ewfacquire"); err != nil {
		t.Log("E01 not tested: ewfacquire not installed (Debian: apt-get install ewf-tools)")
		return
	}
	// Uncompressed, 8 MiB segments: the 20 MB disk spans linux.E01 to .E03.
	sh(t, "ewfacquire", "-u", "-q", "-t", filepath.Join(tmp, "linux"), "-f", "encase6", "-c", "none", "-S", "8MiB", disk)
	if _, err := os.Stat(filepath.Join(tmp, "linux.E02")); err != nil {
		t.Fatalf("ewfacquire wrote one segment only: %v", err)
	}
	sameRows(t, "linux.E01", want, collect(t, names, "--image", filepath.Join(tmp, "linux.E01")))
	// Compressed chunks (zlib), one segment.
	sh(t, "ewfacquire", "-u", "-q", "-t", filepath.Join(tmp, "packed"), "-f", "encase6", "-c", "deflate:best", disk)
	sameRows(t, "packed.E01", want, collect(t, names, "--image", filepath.Join(tmp, "packed.E01")))
}

// The OS volume is chosen over an empty data partition before it;
// --partition picks another; a bare file system is partition 0.
func TestImagePartitionChoice(t *testing.T) {
	needTools(t, "mkfs.ext4", "debugfs", "sfdisk")
	tmp := t.TempDir()
	dir, disk := linuxDisk(t, tmp, 4)
	names := []string{"Linux.Azure.RunCommand"}
	want := collect(t, names, "--args", "Root="+dir)
	sameRows(t, "auto", want, collect(t, names, "--image", disk))
	_, stderr, err := run(t, "-v", "--image", disk, "query", "SELECT 1 FROM scope()")
	if err != nil || !strings.Contains(stderr, "ext4 partition 2 (gpt") || !strings.Contains(stderr, "it has /var/lib/waagent") {
		t.Errorf("chosen volume not reported: %v\n%s", err, stderr)
	}
	if got := collect(t, names, "--image", disk, "--partition", "1"); got != "" {
		t.Errorf("--partition 1 (the empty volume) gave rows:\n%s", got)
	}
	_, stderr, err = run(t, "--image", disk, "--partition", "3", "query", "SELECT 1 FROM scope()")
	if err == nil || !strings.Contains(stderr, "no readable NTFS or ext4 file system in partition 3") || !strings.Contains(stderr, "partition 2 (gpt") {
		t.Errorf("--partition 3: %v\n%s", err, stderr)
	}
	sameRows(t, "bare ext4", want, collect(t, names, "--image", filepath.Join(tmp, "linux.ext4")))
	sameRows(t, "bare ext4, --partition 0", want, collect(t, names, "--image", filepath.Join(tmp, "linux.ext4"), "--partition", "0"))
}

// Damaged images: each problem is named (image, offset, reason) on
// stderr and everything else is still read; an image whose chosen
// volume has no readable root is an error, not an empty result.
func TestImageDamaged(t *testing.T) {
	needTools(t, "mkfs.ext4", "debugfs", "sfdisk", "qemu-img")
	tmp := t.TempDir()
	dir, disk := linuxDisk(t, tmp, 0)
	names := []string{"Linux.Azure.RunCommand"}
	want := collect(t, names, "--args", "Root="+dir)

	// Cut after the file data but inside the partition: the table now
	// points past the end; the rows are all still there.
	data, err := os.ReadFile(disk)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(tmp, "cut.img")
	os.WriteFile(cut, data[:4<<20], 0o444)
	stdout, stderr, err := run(t, "--image", cut, "artifacts", "collect", "Linux.Azure.RunCommand", "--format", "jsonl")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	sameRows(t, "truncated", want, stdout)
	if !strings.Contains(stderr, "vql: warning: image "+cut+": offset 1024: partition 1 (gpt") ||
		!strings.Contains(stderr, "past the end of the image (4194304 bytes): the image is truncated or the table is wrong") {
		t.Errorf("truncation not reported:\n%s", stderr)
	}

	// Cut inside the volume's metadata: its root is gone.
	os.WriteFile(cut, data[:(1<<20)+64<<10], 0o444)
	_, stderr, err = run(t, "--image", cut, "artifacts", "collect", "Linux.Azure.RunCommand", "--format", "jsonl")
	if err == nil || !strings.Contains(stderr, "the root folder cannot be read") || !strings.Contains(stderr, "lies past the end of the image") {
		t.Errorf("unreadable root: %v\n%s", err, stderr)
	}

	// A fixed VHD whose footer checksum is wrong: reported, then read.
	vhd := filepath.Join(tmp, "bad.vhd")
	sh(t, "qemu-img", "convert", "-f", "raw", "-O", "vpc", "-o", "subformat=fixed", disk, vhd)
	b, _ := os.ReadFile(vhd)
	b[len(b)-512+64] ^= 0x5A
	os.WriteFile(vhd, b, 0o444)
	stdout, stderr, err = run(t, "--image", vhd, "artifacts", "collect", "Linux.Azure.RunCommand", "--format", "jsonl")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	sameRows(t, "bad VHD checksum", want, stdout)
	if !strings.Contains(stderr, fmt.Sprintf("vql: warning: image %s: offset %d: VHD footer checksum", vhd, len(b)-512)) {
		t.Errorf("bad checksum not reported:\n%s", stderr)
	}
}

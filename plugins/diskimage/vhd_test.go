package diskimage

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// vhdFooter writes a footer as the VHD specification lays it out
// (big-endian; checksum = one's complement of the byte sum).
func vhdFooter(size uint64, diskType uint32) []byte {
	b := make([]byte, 512)
	copy(b, "conectix")
	binary.BigEndian.PutUint32(b[8:], 2)           // features: reserved bit
	binary.BigEndian.PutUint32(b[12:], 0x00010000) // format version 1.0
	binary.BigEndian.PutUint64(b[16:], ^uint64(0)) // data offset: none (fixed disk)
	binary.BigEndian.PutUint32(b[24:], 0x2e4d2a40) // time stamp
	copy(b[28:], "azvq")                           // creator application
	binary.BigEndian.PutUint32(b[32:], 0x00010000)
	copy(b[36:], "Wi2k")
	binary.BigEndian.PutUint64(b[40:], size) // original size
	binary.BigEndian.PutUint64(b[48:], size) // current size
	binary.BigEndian.PutUint32(b[56:], 0x01000410)
	binary.BigEndian.PutUint32(b[60:], diskType)
	copy(b[68:84], "0123456789abcdef") // unique id
	var sum uint32
	for _, c := range b {
		sum += uint32(c)
	}
	binary.BigEndian.PutUint32(b[64:], ^sum)
	return b
}

func writeImage(t *testing.T, parts ...[]byte) string {
	p := filepath.Join(t.TempDir(), "disk.vhd")
	var all []byte
	for _, b := range parts {
		all = append(all, b...)
	}
	if err := os.WriteFile(p, all, 0o444); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestVHDFooter(t *testing.T) {
	f, err := ParseVHDFooter(vhdFooter(1<<20, 2))
	if err != nil || f.DiskType != 2 || f.CurrentSize != 1<<20 || f.Checksum != f.Computed {
		t.Fatalf("%+v %v", f, err)
	}
	bad := vhdFooter(1<<20, 2)
	bad[40] ^= 0xFF
	if _, err := ParseVHDFooter(bad); err == nil || !strings.Contains(err.Error(), "VHD footer checksum") {
		t.Errorf("bad checksum: %v", err)
	}
}

func TestOpenFixedVHD(t *testing.T) {
	data := mbrDisk(1<<20, [3]uint32{0x83, 64, 100})
	d, err := OpenDisk(writeImage(t, data, vhdFooter(1<<20, 2)))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.Format != "vhd" || d.Size != 1<<20 || len(d.Problems) != 0 {
		t.Errorf("%s %d %v", d.Format, d.Size, d.Problems)
	}
}

func TestOpenVHDBadChecksum(t *testing.T) {
	foot := vhdFooter(1<<20, 2)
	foot[64] ^= 1
	p := writeImage(t, mbrDisk(1<<20, [3]uint32{0x83, 64, 100}), foot)
	d, err := OpenDisk(p)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.Size != 1<<20 || len(d.Problems) != 1 {
		t.Fatalf("size %d problems %v", d.Size, d.Problems)
	}
	want := "image " + p + ": offset 1048576: VHD footer checksum"
	if got := d.Problems[0].Error(); !strings.HasPrefix(got, want) || !strings.Contains(got, "reading the disk before it as a fixed VHD") {
		t.Errorf("got %q, want prefix %q", got, want)
	}
	// Everything else still read: the partition table behind it.
	parts, _ := ReadPartitions(d, d.Size, p)
	if len(parts) != 1 || parts[0].Offset != 64*512 {
		t.Errorf("partitions: %+v", parts)
	}
}

func TestOpenVHDSizeMismatchAndDynamic(t *testing.T) {
	p := writeImage(t, make([]byte, 4096), vhdFooter(8192, 2))
	d, err := OpenDisk(p)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	if len(d.Problems) != 1 || !strings.Contains(d.Problems[0].Error(), "offset 4144: VHD footer says the disk is 8192 bytes but 4096 precede the footer") {
		t.Errorf("%v", d.Problems)
	}
	p = writeImage(t, make([]byte, 4096), vhdFooter(8192, 3))
	if _, err := OpenDisk(p); err == nil || !strings.Contains(err.Error(), "a dynamic VHD: only fixed VHDs") {
		t.Errorf("dynamic: %v", err)
	}
}

func FuzzVHDFooter(f *testing.F) {
	f.Add(vhdFooter(1<<30, 2))
	f.Add(vhdFooter(0, 3))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < 512 {
			b = append(b, make([]byte, 512-len(b))...)
		}
		ft, err := ParseVHDFooter(b)
		if err == nil && ft.Checksum != VHDChecksum(b) {
			t.Fatalf("accepted a footer whose checksum does not match")
		}
	})
}

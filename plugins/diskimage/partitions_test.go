package diskimage

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"strings"
	"testing"
	"unicode/utf16"
)

// mbrDisk writes an MBR with the given (type, first sector, sectors)
// entries into a disk of size bytes.
func mbrDisk(size int, entries ...[3]uint32) []byte {
	d := make([]byte, size)
	for i, e := range entries {
		o := 446 + 16*i
		d[o+4] = byte(e[0])
		binary.LittleEndian.PutUint32(d[o+8:], e[1])
		binary.LittleEndian.PutUint32(d[o+12:], e[2])
	}
	d[510], d[511] = 0x55, 0xAA
	return d
}

type gptEntry struct {
	first, last uint64
	name        string
}

var linuxFS = []byte{0xAF, 0x3D, 0xC6, 0x0F, 0x83, 0x84, 0x72, 0x47, 0x8E, 0x79, 0x3D, 0x69, 0xD8, 0x47, 0x7D, 0xE4}

// gptDisk writes a protective MBR, a GPT header at sector 1 and 128
// entries of 128 bytes at sector 2, with the CRCs the UEFI spec asks for.
func gptDisk(size int, entries ...gptEntry) []byte {
	d := mbrDisk(size, [3]uint32{0xEE, 1, uint32(size/512 - 1)})
	table := d[1024 : 1024+128*128]
	for i, e := range entries {
		en := table[i*128:]
		copy(en[0:16], linuxFS)
		en[16] = byte(i + 1) // unique GUID
		binary.LittleEndian.PutUint64(en[32:], e.first)
		binary.LittleEndian.PutUint64(en[40:], e.last)
		for j, c := range utf16.Encode([]rune(e.name)) {
			binary.LittleEndian.PutUint16(en[56+2*j:], c)
		}
	}
	h := d[512:604]
	copy(h, "EFI PART")
	binary.LittleEndian.PutUint32(h[8:], 0x00010000)
	binary.LittleEndian.PutUint32(h[12:], 92)
	binary.LittleEndian.PutUint64(h[24:], 1)
	binary.LittleEndian.PutUint64(h[32:], uint64(size/512-1))
	binary.LittleEndian.PutUint64(h[40:], 34)
	binary.LittleEndian.PutUint64(h[48:], uint64(size/512-34))
	binary.LittleEndian.PutUint64(h[72:], 2)
	binary.LittleEndian.PutUint32(h[80:], 128)
	binary.LittleEndian.PutUint32(h[84:], 128)
	binary.LittleEndian.PutUint32(h[88:], crc32.ChecksumIEEE(table))
	binary.LittleEndian.PutUint32(h[16:], crc32.ChecksumIEEE(h))
	return d
}

func problemsText(ps []Problem) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString(p.Error() + "\n")
	}
	return b.String()
}

func TestMBR(t *testing.T) {
	d := mbrDisk(1<<20, [3]uint32{0x07, 2048 / 8, 100}, [3]uint32{0x83, 400, 200})
	parts, probs := ReadPartitions(bytes.NewReader(d), int64(len(d)), "x.img")
	if len(probs) != 0 || len(parts) != 2 {
		t.Fatalf("parts %v problems %s", parts, problemsText(probs))
	}
	if p := parts[1]; p.Index != 2 || p.Type != "0x83" || p.Offset != 400*512 || p.Size != 200*512 || p.Scheme != "mbr" {
		t.Errorf("partition 2: %+v", p)
	}
}

func TestMBRPastTheEnd(t *testing.T) {
	// Entry 1 is fine, entry 2 starts past the end, entry 3 ends past it.
	d := mbrDisk(1<<20, [3]uint32{0x83, 64, 100}, [3]uint32{0x83, 5000, 10}, [3]uint32{0x07, 1024, 4096})
	parts, probs := ReadPartitions(bytes.NewReader(d), int64(len(d)), "vm.img")
	if len(parts) != 2 || parts[0].Index != 1 || parts[1].Index != 3 {
		t.Fatalf("partitions kept: %+v", parts)
	}
	text := problemsText(probs)
	for _, want := range []string{
		"image vm.img: offset 462: partition 2 (mbr type 0x83, offset 2560000, 5120 bytes) starts at byte 2560000, past the end of the image (1048576 bytes): left out",
		"image vm.img: offset 478: partition 3 (mbr type 0x07, offset 524288, 2097152 bytes) ends at byte 2621440, past the end of the image (1048576 bytes)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in:\n%s", want, text)
		}
	}
}

func TestGPT(t *testing.T) {
	d := gptDisk(4<<20, gptEntry{2048, 4095, "root"}, gptEntry{9000, 9500, "past"})
	parts, probs := ReadPartitions(bytes.NewReader(d), int64(len(d)), "g.img")
	if len(probs) != 1 || !strings.Contains(probs[0].Error(), "image g.img: offset 1152: partition 2 (gpt") ||
		!strings.Contains(probs[0].Error(), "starts at byte 4608000, past the end") {
		t.Errorf("problems: %s", problemsText(probs))
	}
	if len(parts) != 1 {
		t.Fatalf("parts: %+v", parts)
	}
	p := parts[0]
	if p.Index != 1 || p.Scheme != "gpt" || p.Name != "root" || p.Offset != 2048*512 || p.Size != 2048*512 ||
		p.Type != "0FC63DAF-8483-4772-8E79-3D69D8477DE4" {
		t.Errorf("partition: %+v", p)
	}
}

func TestGPTDamagedChecksums(t *testing.T) {
	d := gptDisk(4<<20, gptEntry{2048, 4095, "root"})
	d[512+48] ^= 1    // last usable LBA: header CRC now wrong
	d[1024+100] = 'X' // inside entry 1's name: entry array CRC wrong
	parts, probs := ReadPartitions(bytes.NewReader(d), int64(len(d)), "g.img")
	text := problemsText(probs)
	for _, want := range []string{"image g.img: offset 512: GPT header CRC32", "image g.img: offset 1024: GPT entry array CRC32"} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in:\n%s", want, text)
		}
	}
	if len(parts) != 1 || parts[0].Offset != 2048*512 {
		t.Errorf("the damaged table's entries are still read: %+v", parts)
	}
}

func TestGPTEntryArrayOutside(t *testing.T) {
	d := gptDisk(1<<20, gptEntry{64, 100, "a"})
	binary.LittleEndian.PutUint64(d[512+72:], 1<<40)
	_, probs := ReadPartitions(bytes.NewReader(d), int64(len(d)), "g.img")
	if !strings.Contains(problemsText(probs), "image g.img: offset 584: GPT entry array at sector 1099511627776 is outside the image") {
		t.Errorf("problems: %s", problemsText(probs))
	}
}

func TestNoTableIsWholeDisk(t *testing.T) {
	d := make([]byte, 4096)
	parts, probs := ReadPartitions(bytes.NewReader(d), 4096, "bare")
	if len(probs) != 0 || len(parts) != 1 || parts[0].Index != 0 || parts[0].Size != 4096 {
		t.Errorf("%+v %v", parts, probs)
	}
	// An NTFS boot sector ends in 55 AA too: still no table.
	copy(d[3:], "NTFS    ")
	d[510], d[511] = 0x55, 0xAA
	if parts, _ := ReadPartitions(bytes.NewReader(d), 4096, "bare"); len(parts) != 1 || parts[0].Scheme != "none" {
		t.Errorf("NTFS boot sector taken for an MBR: %+v", parts)
	}
}

func TestTruncatedBeforeTable(t *testing.T) {
	parts, probs := ReadPartitions(bytes.NewReader(make([]byte, 100)), 100, "t.img")
	if parts != nil || len(probs) != 1 || probs[0].Error() != "image t.img: offset 0: image is 100 bytes, too short for a partition table" {
		t.Errorf("%+v %s", parts, problemsText(probs))
	}
}

func TestExtendedChainLoop(t *testing.T) {
	d := mbrDisk(1<<20, [3]uint32{0x05, 100, 1000})
	// The EBR at sector 100 holds a logical partition and points to
	// itself as the next EBR.
	e := d[100*512:]
	e[446+4] = 0x83
	binary.LittleEndian.PutUint32(e[446+8:], 10)
	binary.LittleEndian.PutUint32(e[446+12:], 20)
	e[462+4] = 0x05
	binary.LittleEndian.PutUint32(e[462+8:], 0)
	e[510], e[511] = 0x55, 0xAA
	parts, probs := ReadPartitions(bytes.NewReader(d), int64(len(d)), "l.img")
	if len(parts) != 1 || parts[0].Index != 5 || parts[0].Offset != 110*512 {
		t.Errorf("logical partitions: %+v", parts)
	}
	if !strings.Contains(problemsText(probs), "image l.img: offset 51200: extended partition chain loops back here") {
		t.Errorf("problems: %s", problemsText(probs))
	}
}

func FuzzReadPartitions(f *testing.F) {
	f.Add(mbrDisk(8192, [3]uint32{0x83, 1, 4}, [3]uint32{0x05, 5, 10}))
	f.Add(gptDisk(64<<10, gptEntry{40, 60, "x"}))
	f.Add(make([]byte, 600))
	f.Fuzz(func(t *testing.T, d []byte) {
		parts, probs := ReadPartitions(bytes.NewReader(d), int64(len(d)), "f")
		for _, p := range parts {
			if p.Offset < 0 || p.Size < 0 || p.Offset >= int64(len(d)) && len(d) > 0 {
				t.Fatalf("partition outside the disk kept: %+v", p)
			}
		}
		for _, p := range probs {
			if p.Image != "f" || p.Reason == "" {
				t.Fatalf("problem without image or reason: %+v", p)
			}
		}
	})
}

package diskimage

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
	"unicode/utf16"
)

// Partition is one entry of the disk's partition table, or the whole
// disk when it holds a file system with no table (Index 0).
type Partition struct {
	Index  int    // 1-based: MBR slot (logical partitions from 5 on) or GPT entry number; 0 = whole disk
	Scheme string // "mbr", "gpt" or "none"
	Type   string // MBR type byte (0x83) or GPT type GUID
	Name   string // GPT partition name
	Offset int64  // bytes from the start of the disk
	Size   int64  // bytes
}

func (p Partition) String() string {
	if p.Scheme == "none" {
		return fmt.Sprintf("partition 0 (the whole image: no partition table, %d bytes)", p.Size)
	}
	s := fmt.Sprintf("partition %d (%s type %s, offset %d, %d bytes", p.Index, p.Scheme, p.Type, p.Offset, p.Size)
	if p.Name != "" {
		s += fmt.Sprintf(", name %q", p.Name)
	}
	return s + ")"
}

// Limits that keep a hostile table from costing more than a real one.
const (
	maxGPTEntries = 1024
	maxEBRChain   = 128
)

// ReadPartitions reads the partition table of a disk of size bytes. With
// no MBR signature it returns the whole disk as partition 0. Entries
// that start past the end are reported and left out; entries that end
// past it are reported and kept (a truncated image still has data).
func ReadPartitions(disk io.ReaderAt, size int64, image string) ([]Partition, []Problem) {
	var probs []Problem
	prob := func(off int64, format string, a ...any) {
		probs = append(probs, Problem{Image: image, Offset: off, Reason: fmt.Sprintf(format, a...)})
	}
	mbr := make([]byte, 512)
	if n, _ := disk.ReadAt(mbr, 0); n < 512 {
		prob(0, "image is %d bytes, too short for a partition table", n)
		return nil, probs
	}
	whole := []Partition{{Index: 0, Scheme: "none", Type: "", Offset: 0, Size: size}}
	if mbr[510] != 0x55 || mbr[511] != 0xAA || looksLikeBootSector(mbr) {
		return whole, probs
	}
	var parts []Partition
	add := func(p Partition, entryOff int64) {
		switch {
		case p.Offset >= size:
			prob(entryOff, "%s starts at byte %d, past the end of the image (%d bytes): left out", p, p.Offset, size)
			return
		case p.Offset+p.Size > size:
			prob(entryOff, "%s ends at byte %d, past the end of the image (%d bytes): the image is truncated or the table is wrong; reading what is there", p, p.Offset+p.Size, size)
		}
		parts = append(parts, p)
	}
	for i := 0; i < 4; i++ {
		e := mbr[446+16*i : 446+16*(i+1)]
		typ := e[4]
		start := int64(binary.LittleEndian.Uint32(e[8:12])) * 512
		count := int64(binary.LittleEndian.Uint32(e[12:16])) * 512
		if typ == 0 || count == 0 {
			continue
		}
		switch typ {
		case 0xEE:
			gpt, gprobs := readGPT(disk, size, image)
			probs = append(probs, gprobs...)
			if gpt != nil {
				for _, p := range gpt {
					add(p.Partition, p.entryOff)
				}
				return parts, probs
			}
			continue
		case 0x05, 0x0F, 0x85:
			logical, lprobs := readEBRChain(disk, size, start, image)
			probs = append(probs, lprobs...)
			for _, lp := range logical {
				add(lp.Partition, lp.entryOff)
			}
			continue
		}
		add(Partition{Index: i + 1, Scheme: "mbr", Type: fmt.Sprintf("0x%02x", typ), Offset: start, Size: count}, int64(446+16*i))
	}
	if len(parts) == 0 && len(probs) == 0 {
		return whole, probs
	}
	return parts, probs
}

// looksLikeBootSector tells a file system's own boot sector (NTFS, FAT:
// they end in 55 AA too) from an MBR, so a bare partition image is read
// as one.
func looksLikeBootSector(b []byte) bool {
	return bytes.Equal(b[3:11], []byte("NTFS    ")) || bytes.Equal(b[82:87], []byte("FAT32")) || bytes.Equal(b[54:59], []byte("FAT1"))
}

// located is a partition with where its table entry sits, for messages.
type located struct {
	Partition
	entryOff int64
}

func readEBRChain(disk io.ReaderAt, size, extStart int64, image string) ([]located, []Problem) {
	var out []located
	var probs []Problem
	seen := map[int64]bool{}
	ebr := extStart
	idx := 5
	buf := make([]byte, 512)
	for hop := 0; hop < maxEBRChain; hop++ {
		if seen[ebr] {
			probs = append(probs, Problem{image, ebr, "extended partition chain loops back here: stopped"})
			break
		}
		seen[ebr] = true
		if ebr >= size {
			probs = append(probs, Problem{image, ebr, fmt.Sprintf("extended boot record past the end of the image (%d bytes): logical partitions from %d on are lost", size, idx)})
			break
		}
		if n, _ := disk.ReadAt(buf, ebr); n < 512 || buf[510] != 0x55 || buf[511] != 0xAA {
			probs = append(probs, Problem{image, ebr, "extended boot record without its 55 AA signature: stopped"})
			break
		}
		e1, e2 := buf[446:462], buf[462:478]
		if e1[4] != 0 {
			start := ebr + int64(binary.LittleEndian.Uint32(e1[8:12]))*512
			count := int64(binary.LittleEndian.Uint32(e1[12:16])) * 512
			out = append(out, located{Partition{Index: idx, Scheme: "mbr", Type: fmt.Sprintf("0x%02x", e1[4]), Offset: start, Size: count}, ebr + 446})
			idx++
		}
		if e2[4] == 0 {
			break
		}
		ebr = extStart + int64(binary.LittleEndian.Uint32(e2[8:12]))*512
	}
	return out, probs
}

// readGPT reads the primary GPT header and its entries (512-byte sectors,
// then 4096). Checksum mismatches are reported; the entries are still
// used, since a damaged table is better evidence than none.
func readGPT(disk io.ReaderAt, size int64, image string) ([]located, []Problem) {
	var probs []Problem
	for _, ss := range []int64{512, 4096} {
		hdr := make([]byte, 92)
		if n, _ := disk.ReadAt(hdr, ss); n < 92 || string(hdr[:8]) != "EFI PART" {
			continue
		}
		parts, p := parseGPT(disk, size, ss, hdr, image)
		return parts, append(probs, p...)
	}
	return nil, append(probs, Problem{image, 512, "protective MBR (type 0xEE) but no GPT header (\"EFI PART\") at sector 1: reading the MBR entries only"})
}

func parseGPT(disk io.ReaderAt, size, ss int64, hdr []byte, image string) ([]located, []Problem) {
	var probs []Problem
	hsize := binary.LittleEndian.Uint32(hdr[12:16])
	if hsize >= 92 && hsize <= 512 {
		full := make([]byte, hsize)
		if n, _ := disk.ReadAt(full, ss); n == int(hsize) {
			want := binary.LittleEndian.Uint32(full[16:20])
			binary.LittleEndian.PutUint32(full[16:20], 0)
			if got := crc32.ChecksumIEEE(full); got != want {
				probs = append(probs, Problem{image, ss, fmt.Sprintf("GPT header CRC32 0x%08x, computed 0x%08x: header damaged; reading its entries anyway", want, got)})
			}
		}
	} else {
		probs = append(probs, Problem{image, ss + 12, fmt.Sprintf("GPT header size %d is not between 92 and 512", hsize)})
	}
	entLBA := int64(binary.LittleEndian.Uint64(hdr[72:80]))
	count := binary.LittleEndian.Uint32(hdr[80:84])
	esize := binary.LittleEndian.Uint32(hdr[84:88])
	entCRC := binary.LittleEndian.Uint32(hdr[88:92])
	if esize < 128 || esize > 4096 || esize%8 != 0 {
		return nil, append(probs, Problem{image, ss + 84, fmt.Sprintf("GPT entry size %d is not a multiple of 8 between 128 and 4096: no partitions read", esize)})
	}
	if count > maxGPTEntries {
		probs = append(probs, Problem{image, ss + 80, fmt.Sprintf("GPT claims %d entries; reading the first %d", count, maxGPTEntries)})
		count = maxGPTEntries
	}
	entOff := entLBA * ss
	if entLBA <= 0 || entOff >= size || entLBA > size/ss {
		return nil, append(probs, Problem{image, ss + 72, fmt.Sprintf("GPT entry array at sector %d is outside the image (%d bytes): no partitions read", entLBA, size)})
	}
	table := make([]byte, int64(count)*int64(esize))
	n, _ := disk.ReadAt(table, entOff)
	if n < len(table) {
		probs = append(probs, Problem{image, entOff + int64(n), fmt.Sprintf("GPT entry array cut short by the end of the image (%d of %d bytes)", n, len(table))})
		table = table[:n]
	} else if got := crc32.ChecksumIEEE(table); got != entCRC {
		probs = append(probs, Problem{image, entOff, fmt.Sprintf("GPT entry array CRC32 0x%08x, computed 0x%08x: entries damaged; reading them anyway", entCRC, got)})
	}
	var parts []located
	for i := 0; (i+1)*int(esize) <= len(table); i++ {
		e := table[i*int(esize) : (i+1)*int(esize)]
		if isZero(e[:16]) {
			continue
		}
		first := binary.LittleEndian.Uint64(e[32:40])
		last := binary.LittleEndian.Uint64(e[40:48])
		off := entOff + int64(i)*int64(esize)
		if last < first || first > uint64(1<<62)/uint64(ss) || last > uint64(1<<62)/uint64(ss) {
			probs = append(probs, Problem{image, off, fmt.Sprintf("GPT entry %d: first sector %d, last %d: not a range; left out", i+1, first, last)})
			continue
		}
		parts = append(parts, located{Partition{
			Index:  i + 1,
			Scheme: "gpt",
			Type:   guidString(e[:16]),
			Name:   utf16Name(e[56:128]),
			Offset: int64(first) * ss,
			Size:   int64(last-first+1) * ss,
		}, off})
	}
	return parts, probs
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// guidString formats a GPT GUID (first three fields little-endian).
func guidString(b []byte) string {
	return fmt.Sprintf("%08X-%04X-%04X-%X-%X", binary.LittleEndian.Uint32(b[0:4]),
		binary.LittleEndian.Uint16(b[4:6]), binary.LittleEndian.Uint16(b[6:8]), b[8:10], b[10:16])
}

func utf16Name(b []byte) string {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return strings.TrimSpace(string(utf16.Decode(u)))
}

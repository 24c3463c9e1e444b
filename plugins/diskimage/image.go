package diskimage

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/azvql/azvql/plugins/evidence"
)

// Volume is a partition with a file system azvql can read.
type Volume struct {
	Partition
	FS     string // "ntfs" or "ext4"
	OS     string // what marks it as an OS volume: `\Windows`, "/var/lib/waagent", "/etc", or ""
	access evidence.Accessor
}

// Image is an opened disk image with its chosen volume.
type Image struct {
	Path       string
	Disk       *Disk
	Partitions []Partition
	Volumes    []Volume
	Chosen     Volume
	Problems   []Problem // damage found; reading went on
	Note       string    // how the volume was chosen
}

// AutoPartition asks Open to choose the OS volume.
const AutoPartition = -1

// Open opens an image read-only and chooses its OS volume: NTFS with
// \Windows, else ext4 with /var/lib/waagent, else ext4 with /etc, else
// the only readable file system. partition (the Index of Partition, 0
// for a file system with no partition table) overrides the choice.
func Open(path string, partition int) (*Image, error) {
	disk, err := OpenDisk(path)
	if err != nil {
		return nil, err
	}
	img := &Image{Path: path, Disk: disk}
	img.Problems = append(img.Problems, disk.Problems...)
	parts, probs := ReadPartitions(disk, disk.Size, path)
	img.Partitions = parts
	img.Problems = append(img.Problems, probs...)
	for _, p := range parts {
		v, err := openVolume(disk, p, path)
		if err != nil {
			img.Problems = append(img.Problems, Problem{path, p.Offset, fmt.Sprintf("%s: %v", p, err)})
			continue
		}
		if v != nil {
			img.Volumes = append(img.Volumes, *v)
		}
	}
	if err := img.choose(partition); err != nil {
		disk.Close()
		return nil, err
	}
	return img, nil
}

// Accessor is the chosen volume's file system.
func (img *Image) Accessor() evidence.Accessor { return img.Chosen.access }

// Close releases the image files.
func (img *Image) Close() error { return img.Disk.Close() }

func (img *Image) choose(partition int) error {
	if partition != AutoPartition {
		for _, v := range img.Volumes {
			if v.Index == partition {
				img.Chosen, img.Note = v, "chosen with --partition"
				return nil
			}
		}
		return fmt.Errorf("image %s: no readable NTFS or ext4 file system in partition %d; %s", img.Path, partition, img.describe())
	}
	best, score := -1, 0
	for i, v := range img.Volumes {
		s := map[string]int{`\Windows`: 3, "/var/lib/waagent": 3, "/etc": 1}[v.OS]
		if s > score {
			best, score = i, s
		}
	}
	switch {
	case best >= 0:
		img.Chosen, img.Note = img.Volumes[best], "the OS volume: it has "+img.Volumes[best].OS
	case len(img.Volumes) == 1:
		img.Chosen, img.Note = img.Volumes[0], `the only readable file system (no \Windows, /var/lib/waagent or /etc in it)`
	default:
		return fmt.Errorf("image %s: no OS volume found (\\Windows, /var/lib/waagent or /etc); pick one with --partition; %s", img.Path, img.describe())
	}
	return nil
}

// describe lists partitions and what was found in them, for messages.
func (img *Image) describe() string {
	if len(img.Partitions) == 0 {
		return "no partitions found"
	}
	var b strings.Builder
	b.WriteString("partitions:")
	for _, p := range img.Partitions {
		fmt.Fprintf(&b, " %s", p)
		for _, v := range img.Volumes {
			if v.Index == p.Index {
				fmt.Fprintf(&b, " %s", v.FS)
				if v.OS != "" {
					fmt.Fprintf(&b, " with %s", v.OS)
				}
			}
		}
		b.WriteString(";")
	}
	return strings.TrimSuffix(b.String(), ";")
}

// Describe says which volume was chosen and why.
func (img *Image) Describe() string {
	return fmt.Sprintf("image %s (%s, %d bytes): %s %s, %s", img.Path, img.Disk.Format, img.Disk.Size, img.Chosen.FS, img.Chosen.Partition, img.Note)
}

// openVolume recognises the file system in a partition (nil, nil when
// it is none azvql reads).
func openVolume(disk io.ReaderAt, p Partition, image string) (*Volume, error) {
	sec := io.NewSectionReader(disk, p.Offset, p.Size)
	head := make([]byte, 1088)
	n, _ := sec.ReadAt(head, 0)
	head = head[:n]
	label := fmt.Sprintf("%s partition %d", image, p.Index)
	switch {
	case len(head) >= 11 && bytes.Equal(head[3:11], []byte("NTFS    ")):
		fsys, err := safeOpen(func() (evidence.Accessor, error) { return openNTFS(sec, label) })
		if err != nil {
			return nil, fmt.Errorf("NTFS: %w", err)
		}
		v := &Volume{Partition: p, FS: "ntfs", access: fsys}
		if fi, err := fsys.Lstat(`C:\Windows`); err == nil && fi.IsDir {
			v.OS = `\Windows`
		}
		return v, nil
	case len(head) >= 1082 && head[1080] == 0x53 && head[1081] == 0xEF:
		fsys, err := safeOpen(func() (evidence.Accessor, error) { return openExt4(sec, p.Size, label) })
		if err != nil {
			return nil, fmt.Errorf("ext4: %w", err)
		}
		v := &Volume{Partition: p, FS: "ext4", access: fsys}
		for _, d := range []string{"/var/lib/waagent", "/etc"} {
			if fi, err := fsys.Lstat(d); err == nil && fi.IsDir {
				v.OS = d
				break
			}
		}
		return v, nil
	}
	return nil, nil
}

func safeOpen(f func() (evidence.Accessor, error)) (a evidence.Accessor, err error) {
	defer func() {
		if r := recover(); r != nil {
			a, err = nil, fmt.Errorf("damaged file system structure (%v)", r)
		}
	}()
	return f()
}

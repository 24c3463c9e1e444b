package diskimage

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
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
		v, vprobs, err := openVolume(disk, disk.Size, p, path)
		img.Problems = append(img.Problems, vprobs...)
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
	// A volume whose root cannot be listed would answer every query
	// with nothing: that is an error, not an empty result.
	if _, err := img.Chosen.access.ReadDir("/"); err != nil {
		disk.Close()
		return nil, fmt.Errorf("image %s: %s: the root folder cannot be read: %w", path, img.Chosen.Partition, err)
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
func openVolume(disk io.ReaderAt, diskSize int64, p Partition, image string) (*Volume, []Problem, error) {
	var probs []Problem
	sec := io.NewSectionReader(disk, p.Offset, p.Size)
	head := make([]byte, 1088)
	n, _ := sec.ReadAt(head, 0)
	head = head[:n]
	label := fmt.Sprintf("image %s partition %d", image, p.Index)
	avail := min(p.Size, max(diskSize-p.Offset, 0))
	// probe looks for an OS folder; damage on the way is reported, as
	// the choice of volume depends on it.
	probe := func(fsys evidence.Accessor, d string) bool {
		fi, err := fsys.Lstat(d)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			probs = append(probs, Problem{image, p.Offset, fmt.Sprintf("%s: looking for %s: %v", p, d, err)})
		}
		return err == nil && fi.IsDir
	}
	switch {
	case len(head) >= 11 && bytes.Equal(head[3:11], []byte("NTFS    ")):
		fsys, err := safeOpen(func() (evidence.Accessor, error) { return openNTFS(sec, p.Offset, avail, label) })
		if err != nil {
			return nil, probs, fmt.Errorf("NTFS: %w", err)
		}
		v := &Volume{Partition: p, FS: "ntfs", access: fsys}
		if probe(fsys, `C:\Windows`) {
			v.OS = `\Windows`
		}
		return v, probs, nil
	case len(head) >= 1082 && head[1080] == 0x53 && head[1081] == 0xEF:
		fsys, err := safeOpen(func() (evidence.Accessor, error) { return openExt4(sec, p.Size, p.Offset, avail, label) })
		if err != nil {
			return nil, probs, fmt.Errorf("ext4: %w", err)
		}
		v := &Volume{Partition: p, FS: "ext4", access: fsys}
		for _, d := range []string{"/var/lib/waagent", "/etc"} {
			if probe(fsys, d) {
				v.OS = d
				break
			}
		}
		return v, probs, nil
	}
	return nil, probs, nil
}

func safeOpen(f func() (evidence.Accessor, error)) (a evidence.Accessor, err error) {
	defer func() {
		if r := recover(); r != nil {
			a, err = nil, fmt.Errorf("damaged file system structure (%v)", r)
		}
	}()
	return f()
}

package builtins_test

import (
	"path/filepath"
	"strings"
	"testing"
)

// The deleted .settings of the test image: a record not in use whose path
// go-ntfs stops at its renumbered parent, its size and $FILE_NAME time as
// the analyst sees them; and the journal's deletions with their times (the
// values stock Velociraptor gives: tests/integration/testcases/904).
func TestParseMFTAndUSN(t *testing.T) {
	dir, _ := filepath.Abs(filepath.Join("..", "..", "plugins"))
	var logs logBuf
	scope := newScope(t, dir, &logs)
	check(t, scope, dir,
		`SELECT EntryNumber, InUse, IsDir, OSPath, FileName, FileSize, Created0x30
		 FROM parse_mft(filename=D + '/mftscan/testdata/windows-deleted.MFT') WHERE EntryNumber = 95`,
		`[{"EntryNumber":95,"InUse":false,"IsDir":false,"OSPath":"\u003cErr\u003e\\\u003cParent 94-2 need 1\u003e\\0.settings","FileName":"0.settings","FileSize":879,"Created0x30":"2026-12-04T15:14:39.3086851Z"}]`)
	check(t, scope, dir,
		`SELECT count() AS Deleted, min(item=Timestamp) AS First
		 FROM parse_usn(usn_filename=D + '/usnjrnl/testdata/go-ntfs-usn-sample.bin')
		 WHERE 'FILE_DELETE' in Reason GROUP BY 1`,
		`[{"Deleted":27,"First":"2020-10-28T11:41:32.9284395Z"}]`)
}

// Bad input is a log line naming the file, never an empty success in silence.
func TestParseMFTAndUSNBadInput(t *testing.T) {
	dir, _ := filepath.Abs(filepath.Join("..", "..", "plugins"))
	var logs logBuf
	scope := newScope(t, dir, &logs)
	check(t, scope, dir, `SELECT * FROM parse_mft(filename=D + '/missing.MFT')`, `[]`)
	check(t, scope, dir, `SELECT * FROM parse_usn()`, `[]`)
	check(t, scope, dir, `SELECT * FROM parse_usn(mft_filename=D + '/usnjrnl/testdata/go-ntfs-usn-sample.bin')`, `[]`)
	for _, want := range []string{"parse_mft: Unable to open file " + dir + "/missing.MFT",
		"parse_usn: no device, image_filename or mft_filename",
		"go-ntfs-usn-sample.bin: not an $MFT"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}

// raw_ntfs: the test image's $MFT through a pathspec, as stock VQL names
// it; a bad pathspec, a missing image and a file that is no NTFS volume
// are log lines naming them.
func TestRawNTFSAccessor(t *testing.T) {
	dir, _ := filepath.Abs(filepath.Join("..", ".."))
	var logs logBuf
	scope := newScope(t, dir, &logs)
	check(t, scope, dir,
		`SELECT count() AS Records FROM parse_mft(accessor='raw_ntfs',
		   filename=format(format='{"DelegateAccessor":"file","DelegatePath":%q,"Path":"$MFT"}', args=[D + '/tests/images/windows-deleted.ntfs']))
		 GROUP BY 1`,
		`[{"Records":98}]`) // as from the extracted $MFT (testcase 904)
	check(t, scope, dir, `SELECT * FROM parse_mft(accessor='raw_ntfs', filename='/no/pathspec')`, `[]`)
	check(t, scope, dir, `SELECT * FROM parse_mft(accessor='raw_ntfs', filename='{"DelegatePath":"/missing.img","Path":"$MFT"}')`, `[]`)
	check(t, scope, dir, `SELECT * FROM parse_mft(accessor='raw_ntfs',
		filename=format(format='{"DelegatePath":%q,"Path":"$MFT"}', args=[D + '/plugins/mftscan/testdata/windows-deleted.MFT']))`, `[]`)
	for _, want := range []string{`raw_ntfs: "/no/pathspec" is not a pathspec`,
		"raw_ntfs: /missing.img:",
		"windows-deleted.MFT: no NTFS volume at offset 0"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}

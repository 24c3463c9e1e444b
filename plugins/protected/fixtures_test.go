package protected

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/azvql/azvql/plugins/evidence"
)

// TestLinuxFixture decrypts every protectedSettings of the Linux fixture
// tree (tests/fixtures/linux) with the keys the tree itself holds under
// /var/lib/waagent, and compares the Run Command v1 ones with the
// plaintexts tools/fixtures/gen_protected.sh encrypted.
func TestLinuxFixture(t *testing.T) {
	src, _ := filepath.Abs(filepath.Join("..", ".."))
	tree := filepath.Join(src, "tests", "fixtures", "linux")
	if _, err := os.Stat(filepath.Join(tree, "var", "lib", "waagent")); err != nil {
		t.Skip("tests/fixtures/linux not present")
	}
	ring := NewKeyRing()
	root := evidence.NewRoot(evidence.OSAccessor{}, tree)
	if _, err := ring.LoadWaagent(root, ""); err != nil {
		t.Fatalf("%v (%v)", err, ring.Warnings())
	}
	settings, err := root.Glob("/var/lib/waagent/*/config/*.settings")
	if err != nil {
		t.Fatal(err)
	}
	decrypted := 0
	for _, e := range settings {
		data, _, err := root.ReadCapped(e.OSPath, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		text, _ := evidence.DecodeText(data)
		if len(strings.TrimSpace(string(text))) == 0 {
			continue // CSE truncates old settings to 0 bytes
		}
		var doc struct {
			RuntimeSettings []struct {
				HandlerSettings struct {
					Thumb     *string `json:"protectedSettingsCertThumbprint"`
					Protected *string `json:"protectedSettings"`
				} `json:"handlerSettings"`
			} `json:"runtimeSettings"`
		}
		if err := json.Unmarshal(text, &doc); err != nil {
			t.Errorf("%s: %v", e.OSPath, err)
			continue
		}
		for _, rs := range doc.RuntimeSettings {
			hs := rs.HandlerSettings
			if hs.Protected == nil || *hs.Protected == "" {
				continue
			}
			thumb := ""
			if hs.Thumb != nil {
				thumb = *hs.Thumb
			}
			res, err := ring.DecryptDetail(*hs.Protected, thumb)
			if err != nil {
				t.Errorf("%s: %v", e.OSPath, err)
				continue
			}
			decrypted++
			if !strings.Contains(e.OSPath, "/Microsoft.CPlat.Core.RunCommandLinux-") {
				continue
			}
			seq := strings.TrimSuffix(filepath.Base(e.OSPath), ".settings")
			want, err := os.ReadFile(filepath.Join(src, "tools", "fixtures", "protected-plaintexts", seq+".json"))
			if err != nil {
				t.Errorf("%s: no plaintext to compare: %v", e.OSPath, err)
				continue
			}
			wv, _ := DecodePlaintext(want)
			if got, w := jsonOf(t, res.Plaintext), jsonOf(t, wv); got != w {
				t.Errorf("%s: plaintext\n got %s\nwant %s", e.OSPath, got, w)
			}
			if res.Thumbprint != NormalizeThumbprint(thumb) || res.Cipher == "" {
				t.Errorf("%s: %+v", e.OSPath, res)
			}
		}
	}
	if decrypted == 0 {
		t.Error("no protectedSettings decrypted")
	}
	t.Logf("decrypted %d protectedSettings", decrypted)
}

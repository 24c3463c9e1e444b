package goalstate

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"testing"

	"www.velocidex.com/golang/vfilter"

	"github.com/azvql/azvql/plugins/evidence"
	"github.com/azvql/azvql/plugins/protected"
)

func seedFiles(f *testing.F, rels ...string) {
	for _, r := range rels {
		f.Add(fixtureFile(f, r))
	}
}

// checkDoc: whatever the input, a Doc's rows can be built and serialised.
func checkDoc(t *testing.T, doc *Doc) {
	if doc == nil {
		return
	}
	for _, s := range doc.Settings {
		CommandOf(s.PublicSettings)
		FileUrisOf(s.PublicSettings)
		r := Row{PublicSettings: s.PublicSettings, SeqNo: s.SeqNo, Created: doc.Created}
		if _, err := json.Marshal(r.Dict()); err != nil {
			t.Fatalf("row does not serialise: %v", err)
		}
	}
}

func FuzzParseExtensionsConfig(f *testing.F) {
	seedFiles(f,
		hibernateDir+"ExtensionsConfig.xml",
		tenantEC,
		multiEC,
		"goalstates/var/lib/waagent/ExtensionsConfig.10.xml",
		"goalstates/var/lib/waagent/ExtensionsConfig.11.xml",
		"goalstates/var/lib/waagent/history/2024-05-02T11-30-00__6/ExtensionsConfig.xml",
		hibernateDir+"GoalState.xml",
	)
	// The settings' ciphertext goes through the decryptor, with the
	// goalstates tree's own key (ExtensionsConfig.11.xml decrypts).
	dec := protected.NewDecryptor(vfilter.NewScope(), evidence.NewRoot(evidence.OSAccessor{}, repoFixtures+"/goalstates"),
		protected.Options{Decrypt: protected.On, Redact: true})
	f.Add([]byte(`<Extensions goalStateIncarnation="1"><PluginSettings><Plugin name="a"><ExtensionRuntimeSettings seqNo="1" name="n">{"runtimeSettings":[{"handlerSettings":{"publicSettings":"{\"script\":[\"a\"]}"}}]}</ExtensionRuntimeSettings></Plugin></PluginSettings></Extensions>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := ParseExtensionsConfig(data)
		if err == nil && doc == nil {
			t.Fatal("nil doc without error")
		}
		checkDoc(t, doc)
		if doc != nil {
			for _, s := range doc.Settings {
				if d := dec.Decrypt(s.ProtectedSettings, s.Thumbprint); d.Err != nil && d.Plaintext != nil {
					t.Fatalf("plaintext with error: %+v", d)
				}
			}
		}
	})
}

func FuzzParseVmSettings(f *testing.F) {
	seedFiles(f, hibernateDir+"VmSettings.json")
	z, err := zip.NewReader(bytes.NewReader(fixtureFile(f, "goalstates/var/lib/waagent/history/2021-11-16T13-23-06__9-1737442375466306613.zip")), int64(len(fixtureFile(f, "goalstates/var/lib/waagent/history/2021-11-16T13-23-06__9-1737442375466306613.zip"))))
	if err != nil {
		f.Fatal(err)
	}
	rc, _ := z.File[0].Open()
	var buf bytes.Buffer
	buf.ReadFrom(rc)
	f.Add(buf.Bytes())
	f.Add([]byte(`{"extensionsLastModifiedTickCount":1,"extensionGoalStates":[{"name":"a","settings":[{"publicSettings":{"source":{"script":"x"}},"seqNo":"1"}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := ParseVmSettings(data)
		if err == nil && doc == nil {
			t.Fatal("nil doc without error")
		}
		checkDoc(t, doc)
	})
}

// FuzzZip: the zip reader (central directory or local-header recovery)
// never panics, and members it returns are bounded.
func FuzzZip(f *testing.F) {
	seedFiles(f,
		"goalstates/var/lib/waagent/history/2021-11-16T13-23-05__9.zip",
		"goalstates/var/lib/waagent/history/2024-05-02T10-11-09__5-4012345678901234567.zip",
		"goalstates-windows/WindowsAzure/CollectGuestLogsTemp/4b1f0c9e-2a7d-4e3b-8c5f-9d6a1b2c3e4f.zip",
	)
	f.Fuzz(func(t *testing.T, data []byte) {
		n := 0
		var file interface {
			Read([]byte) (int, error)
			Close() error
		} = nopCloser{bytes.NewReader(data)} // io.ReaderAt
		if len(data)%2 == 1 {
			file = plainFile{f: nopCloser{bytes.NewReader(data)}} // read into memory
		}
		readZip(file, int64(len(data)), func(string) bool { return true }, func(m zipMember) bool {
			n++
			if len(m.Data) > maxMember {
				t.Fatalf("member of %d bytes", len(m.Data))
			}
			return n < 1000
		}, func(string, ...interface{}) {})
	})
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

package agentlog

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/redact"
)

var fuzzSeeds = []string{
	run29,
	"2016/12/23 04:25:14 [Microsoft.OSTCExtensions.VMAccessForLinux-1.4.6.0] cwd is /var/lib/waagent\n2016/12/23 04:25:15 WARNING:x\n",
	"2017/11/08 21:54:42.959541 INFO [Microsoft.Azure.Extensions.CustomScript-2.0.3] Target handler state: enabled\n",
	"2020/01/22 19:35:48.810559 INFO ExtHandler Started extension using scope 'x'\n2023/07/10 20:50:1 short seconds\n",
	"2021-05-28T01:17:40.683072Z INFO ExtHandler Wire server endpoint:168.63.129.16\n",
	"2021-07-09T01:46:53.307959Z INFO MonitorHandler ExtHandler [CGW] Disabling:\n[CGroupsException] x\n",
	"Oct 25 19:16:28 vmhostname python3[1103]: 2021-10-25T19:16:28.553583Z INFO ExtHandler [Microsoft.CPlat.Core.RunCommandLinux-1.0.5] Executing command: x with environment variables: {\"ConfigSequenceNumber\": \"4\"}\nOct 25 19:16:28 vmhostname python3[1103]: [stdout]\n",
	"2024-05-02T10:11:12.123456+00:00 host python3[1103]: 2024-05-02T10:11:12.120000Z INFO ExtHandler ExtHandler ok\nJan  1 00:00:01 h k: x\n",
	"\x00\x00\x01\xff\xfe binary\r\ncontinuation\n\n\n",
	"2024-05-02T10:11:09.606231Z INFO ExtHandler [Microsoft.CPlat.Core.RunCommandHandlerLinux.rc1-1.3.9] Update settings file: rc1.12.settings seqNo 5 sig=abc&sv=1\n",
	"9999/99/99 99:99:99.9 INFO x\n0000-00-00T00:00:00Z INFO x\n",
}

// FuzzAssembler feeds arbitrary bytes through the line reader, the
// record assembler and the row builder: no panic, records within the
// caps, line numbers increasing, valid UTF-8 messages.
func FuzzAssembler(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Add(gz(f, run29))
	ny, _ := time.LoadLocation("America/New_York")
	f.Fuzz(func(t *testing.T, data []byte) {
		const maxLine, maxRecord = 200, 600
		rb := &RowBuilder{Redact: true}
		var last int64
		a := NewAssembler(Options{Loc: ny, MaxLine: maxLine, MaxRecord: maxRecord, YearHint: 2024, MonthHint: 5}, func(r *Record) bool {
			if r.Line <= last {
				t.Fatalf("line %d after %d", r.Line, last)
			}
			last = r.Line
			if len(r.Msg) > maxRecord {
				t.Fatalf("record of %d bytes", len(r.Msg))
			}
			row := rb.Row(r)
			m, _ := row.GetString("Message")
			if !utf8.ValidString(m) {
				t.Fatalf("invalid UTF-8 message %q", m)
			}
			if row.Len() != len(Columns) {
				t.Fatalf("%d columns", row.Len())
			}
			return true
		})
		Scan(bytes.NewReader(data), a)
		// Every input line is accounted for.
		if n := int64(strings.Count(string(data), "\n")); a.Lines() < n && !bytes.HasPrefix(data, []byte{0x1f, 0x8b}) && !bytes.HasPrefix(data, []byte("BZh")) {
			t.Fatalf("%d lines read of %d", a.Lines(), n)
		}
	})
}

// FuzzFlatJSON: whenever the fast env parser accepts input, it agrees
// with the general JSON decoder.
func FuzzFlatJSON(f *testing.F) {
	f.Add([]byte(`{"AZURE_GUEST_AGENT_UNINSTALL_CMD_EXIT_CODE": "NOT_RUN", "ConfigSequenceNumber": "3", "F": "[{\"Key\": \"ExtensionTelemetryPipeline\", \"Value\": \"1.0\"}]"}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"a": "\u00e9\/\n", "b":"c"}`))
	f.Add([]byte(`{"a": 1}`))
	f.Add([]byte("{\"\\ud83d\\ude00\": \"\\ud800\\u0041 \\udc00\\ud800 \xff\xe2\x82 \\b\\f\\r\\t\\\\\\\"\", \"k\": \"\\ud83d\"}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := parseFlatJSON(data, nil)
		if d == nil {
			return
		}
		// Through a string cache (twice: the second from it) the same dict.
		c := &strCache{}
		for i := 0; i < 2; i++ {
			a, _ := json.Marshal(d)
			b, _ := json.Marshal(parseFlatJSON(data, c))
			if !bytes.Equal(a, b) {
				t.Fatalf("cached %s != uncached %s for %q", b, a, data)
			}
		}
		ref := ordereddict.NewDict()
		if err := ref.UnmarshalJSON(data); err != nil {
			t.Fatalf("flat parser accepted what the decoder rejects: %q: %v", data, err)
		}
		a, _ := json.Marshal(d)
		b, _ := json.Marshal(ref)
		if !bytes.Equal(a, b) {
			t.Fatalf("flat %s != decoder %s for %q", a, b, data)
		}
	})
}

// FuzzRedactGate: whenever redact.CommandLine would change a message, the
// gate RowBuilder uses (redact.MayHoldSecret) lets it through. The
// redact package fuzzes the gate from its catalogue; this one starts from
// agent log lines.
func FuzzRedactGate(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Add("https://a/b?SV=1&SIG=XyZ%3d%3d")
	f.Add("DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=bXlrZXk9PQ==;x")
	f.Add("az storage blob upload --account-key 'abc=='")
	f.Add("echo S3cret! | sudo -S -u bob /x")
	f.Add(`{\"runAsPassword\":\"P@ss\"}`)
	f.Add(`"protectedParameters":[{"name":"T","value":"abc"}]`)
	f.Add("x --sas-token ?sv=1 y")
	f.Add("cmdkey /add:srv /user:u /pass:Wint3r!Backup#7")
	f.Add("net user svc 'P@ss' /add")
	f.Add("schtasks /create /ru x /RP hunter2")
	f.Fuzz(func(t *testing.T, s string) {
		if redact.CommandLine(s) != s && !redact.MayHoldSecret([]byte(s)) {
			t.Fatalf("gate missed a secret in %q", s)
		}
	})
}

// FuzzEnvFacts: the env facts Summary reads without building the dict
// (envFactsOf) are those Row reads of the dict (factsOf(parseEnv)).
func FuzzEnvFacts(f *testing.F) {
	f.Add([]byte(`Executing command: x enable with environment variables: {"ConfigSequenceNumber": "3", "ConfigExtensionName": "a", "F": "[{\"Key\": \"E\"}]"}`))
	f.Add([]byte(`Executing command: x with environment variables: {"ConfigSequenceNumber": 3, "ConfigExtensionName": "a"}`))
	f.Add([]byte(`Executing command: x with environment variables: {"ConfigSequenceNumber": "1", "ConfigSequenceNumber": "x", "Config\u0045xtensionName": "b"}` + "\nmore"))
	f.Add([]byte(`Executing command: x with environment variables: {"ConfigSequenceNumber": "-7", "ConfigExtensionName": ""}  `))
	f.Fuzz(func(t *testing.T, m []byte) {
		if got, want := envFactsOf(m), factsOf(parseEnv(m, nil)); got != want {
			t.Fatalf("envFactsOf %+v, factsOf(parseEnv) %+v for %q", got, want, m)
		}
	})
}

// seqNoKeysRef is seqNo's search of "seqNo" then "sequence number" as
// two scans (the first occurrence of each key), kept to check the
// one-pass search against.
func seqNoKeysRef(m []byte) (int64, bool) {
	for _, key := range seqKeys {
		i := bytes.Index(m, key)
		if i < 0 {
			continue
		}
		if v, ok := seqNoAfter(m, i+len(key)); ok {
			return v, true
		}
	}
	return 0, false
}

// FuzzSeqNo: seqNo's one pass over the "seq"s finds the number the
// first "seqNo" or else the first "sequence number" gives.
func FuzzSeqNo(f *testing.F) {
	for _, s := range []string{"seqNo 4", "sequence number is 7", "seqNo x sequence number 9", "sequence number 3 seqNo 5",
		"seqseqNo=12", "sequence numbe seqNo", "seq", "[seqNo: \"8\"] sequence number to 2"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, m []byte) {
		if bytes.Contains(m, settings) {
			return // the .settings form comes first; not this search
		}
		n, ok := seqNo(m, envFacts{})
		wn, wok := seqNoKeysRef(m)
		if n != wn || ok != wok {
			t.Fatalf("seqNo(%q) = %d %v, two scans: %d %v", m, n, ok, wn, wok)
		}
	})
}

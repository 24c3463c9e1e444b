package activitylog

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

const fx = "../../tests/fixtures/activitylog/"

func readAll(t *testing.T, data []byte, name string) ([]*Event, []string) {
	t.Helper()
	var evs []*Event
	var logs []string
	Read(context.Background(), bytes.NewReader(data), Options{OSPath: name, Redact: true},
		func(s string) { logs = append(logs, s) }, func(e *Event) bool { evs = append(evs, e); return true })
	return evs, logs
}

func file(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(fx + p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A JSON array cut inside a record keeps every record before the cut and
// says where reading stopped.
func TestTruncatedArray(t *testing.T) {
	data := file(t, "bad/truncated.json")
	evs, logs := readAll(t, data, "/cases/truncated.json")
	if len(evs) != 7 {
		t.Fatalf("events = %d, want the 7 before the cut", len(evs))
	}
	if len(logs) != 1 || !strings.Contains(logs[0], "/cases/truncated.json: damaged JSON: reading stopped at byte offset ") ||
		!strings.Contains(logs[0], "after 7 events") || !strings.Contains(logs[0], "truncated") {
		t.Fatalf("log = %q", logs)
	}
}

// Every shape of the same operation gives the same values in the columns
// the join uses.
func TestShapesAgree(t *testing.T) {
	want := func(e *Event) string {
		return strings.Join([]string{e.Time.Format(time.RFC3339Nano), e.Operation, e.Kind, e.Status, e.Caller, e.CallerIp,
			e.AppId, e.Client, e.TenantId, e.SubID, strings.ToLower(e.ResourceGroup), strings.ToLower(e.VM),
			strings.ToLower(e.ExtensionName), e.CorrelationId}, "|")
	}
	cli, _ := readAll(t, file(t, "exports/cli/vm-app02.json"), "cli")
	la, logs := readAll(t, file(t, "exports/loganalytics/AzureActivity-vm-app02.csv"), "la")
	if len(logs) != 0 || len(cli) != 14 || len(la) != 14 {
		t.Fatalf("cli %d la %d logs %q", len(cli), len(la), logs)
	}
	for i := range cli {
		if want(cli[i]) != want(la[i]) {
			t.Errorf("event %d:\n cli %s\n la  %s", i, want(cli[i]), want(la[i]))
		}
	}
	if la[0].Format != FormatLACSV || cli[0].Format != FormatActivityJSON || cli[0].Phase != "BeginRequest" || la[0].Phase != "" {
		t.Errorf("formats/phases: %s %s %q %q", la[0].Format, cli[0].Format, cli[0].Phase, la[0].Phase)
	}
}

// The Log Analytics TenantId column is the workspace, never the tenant.
func TestLATenantIsNotWorkspace(t *testing.T) {
	la, _ := readAll(t, file(t, "exports/loganalytics/AzureActivity-win-web05.json"), "la")
	if len(la) == 0 || la[0].TenantId != "7d3f2a10-5b6c-4e8d-9f01-2a3b4c5d6e7f" {
		t.Fatalf("TenantId = %+v", la)
	}
}

func TestGzipAndJSONLines(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(file(t, "exports/eventhub/insights-activity-logs-0-20250610T1600.json"))
	zw.Close()
	evs, logs := readAll(t, buf.Bytes(), "hub.json.gz")
	if len(evs) != 4 || len(logs) != 0 || evs[0].Format != FormatEventHub+"+gzip" {
		t.Fatalf("%d events, logs %q", len(evs), logs)
	}
	if evs[0].Kind != KindVMSSRunCommand || evs[0].VM != "vmss-api_3" || evs[2].Kind != KindOther ||
		evs[2].Operation != "microsoft.network/networksecuritygroups/securityrules/write" {
		t.Errorf("vmss/other: %s %s %s %s", evs[0].Kind, evs[0].VM, evs[2].Kind, evs[2].Operation)
	}
}

func TestCSVByHeaderName(t *testing.T) {
	in := "\ufeffCaller,Extra,OperationNameValue,CorrelationId\r\n" +
		"a@b.c,x,MICROSOFT.COMPUTE/VIRTUALMACHINES/RUNCOMMANDS/WRITE,c1\r\n" +
		"d@e.f,y\r\n"
	evs, logs := readAll(t, []byte(in), "x.csv")
	if len(evs) != 2 || evs[0].Kind != KindManagedRunCommand || evs[0].Caller != "a@b.c" || evs[0].CorrelationId != "c1" {
		t.Fatalf("%+v", evs)
	}
	if evs[1].Kind != KindOther || evs[1].Caller != "d@e.f" || len(logs) != 1 || !strings.Contains(logs[0], "line 3: 2 cells for 4 columns") {
		t.Fatalf("short line: %+v %q", evs[1], logs)
	}
}

func TestNotAnExport(t *testing.T) {
	for _, in := range []string{"2024-05-02 waagent line\n", `{"a": 1}`, "", `[1, 2]`} {
		evs, logs := readAll(t, []byte(in), "f")
		if len(evs) != 0 || len(logs) == 0 {
			t.Errorf("%q: %d events, logs %q", in, len(evs), logs)
		}
	}
}

func TestRedaction(t *testing.T) {
	evs, _ := readAll(t, file(t, "exports/rest/win-web05.page1.json"), "p1")
	body := ""
	for _, e := range evs {
		if e.RequestBody != nil && e.Kind == KindExtension {
			b, _ := jsonString(e.RequestBody)
			body = b
			p, _ := jsonString(e.Properties)
			if strings.Contains(p, "sig=Zm9v") || strings.Contains(p, `protectedSettings\":{}`) {
				t.Errorf("secret left in Properties: %s", p)
			}
			break
		}
	}
	if !strings.Contains(body, `"protectedSettings":"[REDACTED]"`) || !strings.Contains(body, "sig=[REDACTED]") || strings.Contains(body, "Zm9v") {
		t.Errorf("body %s", body)
	}
}

func TestParseResourceID(t *testing.T) {
	for id, want := range map[string]resourceParts{
		"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1/runCommands/rc":           {"s", "rg", "vm1", "rc"},
		"/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/VM1/EXTENSIONS/CSE":           {"S", "RG", "VM1", "CSE"},
		"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/ss/virtualMachines/7": {"s", "rg", "ss_7", ""},
		"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/n":                      {"s", "rg", "", ""},
	} {
		if got := parseResourceID(id); got != want {
			t.Errorf("%s: %+v, want %+v", id, got, want)
		}
	}
}

func TestFoldFinalStatus(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 10, 0, 0, 0, time.UTC)
	fo := NewFolder()
	// EndRequest listed before BeginRequest (pages in any order).
	fo.Add(&Event{Time: t0.Add(30 * time.Second), CorrelationId: "c", Operation: "op", Status: "Failed", SubStatus: "Conflict", Caller: "x"})
	fo.Add(&Event{Time: t0, CorrelationId: "C", Operation: "op", Status: "Started", Phase: "BeginRequest"})
	ops := fo.Operations()
	if len(ops) != 1 || ops[0].Status != "Failed" || ops[0].SubStatus != "Conflict" || !ops[0].Start.Equal(t0) || ops[0].Events != 2 {
		t.Fatalf("%+v", ops)
	}
}

func TestCorrelateAmbiguityAndWindow(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 10, 0, 0, 0, time.UTC)
	op := func(m int, end int) *OpRef {
		return &OpRef{Start: t0.Add(time.Duration(m) * time.Minute), End: t0.Add(time.Duration(end) * time.Minute),
			Kind: KindRunCommand, VM: "VM1", Caller: "c" + string(rune('0'+m)), Phases: []string{"BeginRequest", "EndRequest"}}
	}
	ex := &ExecRef{Kind: "RunCommand", Started: t0.Add(10 * time.Minute)}
	late := &ExecRef{Kind: "RunCommand", Started: t0.Add(40 * time.Minute)} // outside every window
	rows := Correlate([]*OpRef{op(0, 1), op(9, 10)}, []*ExecRef{ex, late}, []string{"vm1"}, true)
	if len(rows) != 3 {
		t.Fatalf("%d rows", len(rows))
	}
	get := func(i int, k string) any { v, _ := rows[i].Get(k); return v }
	if get(0, "Match") != MatchMatched || get(0, "Caller") != "c9" || get(0, "Confidence") != "high" {
		t.Errorf("row 0: %v", rows[0])
	}
	if get(1, "Match") != MatchNoControlPlane || get(2, "Match") != MatchNoHostTrace || get(2, "Caller") != "c0" {
		t.Errorf("rows 1-2: %v %v", rows[1], rows[2])
	}
}

func jsonString(v any) (string, error) {
	b, err := jsonMarshal(v)
	return string(b), err
}

var jsonMarshal = json.Marshal

// JSON lines: a damaged line costs only itself.
func TestJSONLinesDamagedLine(t *testing.T) {
	data := file(t, "exports/insights-activity-logs/resourceId=/SUBSCRIPTIONS/3c9e1f4a-6b2d-4c8e-a1f0-5d7b9e2c4a61/y=2025/m=05/d=06/h=13/m=00/PT1H.json")
	lines := bytes.SplitAfter(data, []byte("\n"))
	var in []byte
	in = append(in, lines[0]...)
	in = append(in, lines[1][:40]...)
	in = append(in, '\n')
	in = append(in, bytes.Join(lines[2:], nil)...)
	in = append(in, lines[0][:len(lines[0])/2]...) // a last line cut mid-record
	evs, logs := readAll(t, in, "PT1H.json")
	if len(evs) != 3 || len(logs) != 2 || !strings.Contains(logs[0], "damaged JSON: line 2") || !strings.Contains(logs[1], "line 5") {
		t.Fatalf("%d events, logs %q", len(evs), logs)
	}
	if evs[0].Format != FormatResourceLog || evs[0].Caller != "deploy@contoso.com" || evs[0].Kind != KindExtension {
		t.Fatalf("%+v", evs[0])
	}
}

func TestVMNames(t *testing.T) {
	for _, c := range []struct {
		op, host string
		want     bool
	}{
		{"vm-web01", "VM-WEB01", true},
		{"vmss-api_3", "vmss-api_3", true},
		{"vmss-api_3", "vmss-api000003", true},
		{"vmss-api_37", "VMSS-API000011", true}, // 37 = 0x11 in base 36
		{"vmss-api_3", "vmss-api000004", false},
		{"vmss-api_3", "other000003", false},
		{"vm-web01", "vm-web02", false},
	} {
		if got := vmMatches(c.op, []string{c.host}); got != c.want {
			t.Errorf("%s vs %s: %v", c.op, c.host, got)
		}
	}
}

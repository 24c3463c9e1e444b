// Package activitygen writes large, realistic Azure Activity Log exports
// for benchmarks: operations on a fleet of VMs (Run Command v1, managed
// Run Command, Custom Script, deletes, VM writes and other noise), each a
// BeginRequest and an EndRequest in the REST / portal JSON schema
// (docs/formats.md §5, the shape of tests/fixtures/activitylog), or the
// diagnostic-settings JSON lines form. The same seed gives the same file.
package activitygen

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"time"
)

// Shapes Generate writes.
const (
	ShapeJSON  = "json"  // one JSON array (portal download, az CLI)
	ShapeJSONL = "jsonl" // resource-log JSON lines (PT1H.json)
)

var ops = []struct{ op, display, kind string }{
	{"Microsoft.Compute/virtualMachines/runCommand/action", "Run Command on Virtual Machine", "rc1"},
	{"Microsoft.Compute/virtualMachines/runCommands/write", "Create or Update Virtual Machine Run Command", "rc2"},
	{"Microsoft.Compute/virtualMachines/extensions/write", "Create or Update Virtual Machine Extension", "ext"},
	{"Microsoft.Compute/virtualMachines/extensions/delete", "Delete Virtual Machine Extension", "ext"},
	{"Microsoft.Compute/virtualMachines/write", "Create or Update Virtual Machine", "vm"},
	{"Microsoft.Compute/virtualMachines/start/action", "Start Virtual Machine", "vm"},
	{"Microsoft.Network/networkSecurityGroups/securityRules/write", "Create or Update Security Rule", "nsg"},
}

// Operation is one generated operation, for tests that need to know
// what the file holds.
type Operation struct {
	VM, Operation, Name, CorrelationId string
	Start, End                         time.Time
}

func uuid(r *rand.Rand) string {
	b := make([]byte, 16)
	r.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.0000000Z") }

// Generate writes events (about; always whole operations) in shape to w
// for vms VMs, starting at start, and returns the operations written.
// keep, when not nil, receives every operation.
func Generate(w io.Writer, events int, shape string, vms int, seed int64, start time.Time, keep func(Operation)) (int, error) {
	r := rand.New(rand.NewSource(seed))
	bw := bufio.NewWriterSize(w, 1<<20)
	const sub, tenant, rg = "3c9e1f4a-6b2d-4c8e-a1f0-5d7b9e2c4a61", "7d3f2a10-5b6c-4e8d-9f01-2a3b4c5d6e7f", "rg-fleet"
	callers := []struct{ upn, app, ip, ptype string }{
		{"attacker@contoso.com", "04b07795-8ddb-461a-bbee-02f9e1bf7b46", "203.0.113.10", "User"},
		{"deploy@contoso.com", "1950a258-227b-4e31-a9cf-717495945fc2", "198.51.100.77", "User"},
		{"ops@contoso.com", "c44b4083-3bb0-49c1-b47d-974e53cbdf3c", "198.51.100.5", "User"},
		{"8f2c6b1e-4d3a-4b5c-9e7f-1a2b3c4d5e6f", "8f2c6b1e-4d3a-4b5c-9e7f-1a2b3c4d5e6f", "20.50.2.9", "ServicePrincipal"},
	}
	if shape == ShapeJSON {
		bw.WriteString("[\n")
	}
	n := 0
	t := start
	first := true
	for n < events {
		o := ops[r.Intn(len(ops))]
		vm := fmt.Sprintf("vm-%05d", r.Intn(vms))
		c := callers[r.Intn(len(callers))]
		corr := uuid(r)
		opid := uuid(r)
		t = t.Add(time.Duration(r.Intn(20000)) * time.Millisecond)
		res := fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachines/%s", sub, rg, vm)
		name := ""
		switch o.kind {
		case "rc2":
			name = fmt.Sprintf("rc%d", r.Intn(50))
			res += "/runCommands/" + name
		case "ext":
			name = "CustomScript"
			res += "/extensions/" + name
		case "nsg":
			res = fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/networkSecurityGroups/nsg-%s/securityRules/r%d", sub, rg, vm, r.Intn(9))
		}
		end := t.Add(time.Duration(5000+r.Intn(60000)) * time.Millisecond)
		if keep != nil {
			keep(Operation{VM: vm, Operation: o.op, Name: name, CorrelationId: corr, Start: t, End: end})
		}
		body := ""
		if o.kind == "rc2" {
			body = fmt.Sprintf(`{"location":"westeurope","properties":{"source":{"script":"echo %d"},"runAsPassword":"pw%d","timeoutInSeconds":600}}`, r.Intn(1000), r.Intn(1000))
		} else if o.kind == "ext" && o.op[len(o.op)-5:] == "write" {
			body = `{"location":"westeurope","properties":{"publisher":"Microsoft.Azure.Extensions","type":"CustomScript","typeHandlerVersion":"2.1","settings":{"fileUris":["https://st.blob.core.windows.net/c/s.sh?sv=2022-11-02&sig=abcdef0123456789"],"commandToExecute":"bash s.sh"},"protectedSettings":{}}}`
		}
		for phase := 0; phase < 2; phase++ {
			et, ph, st, rt, sub2 := t, "BeginRequest", "Started", "Start", "Created"
			if phase == 1 {
				et, ph, st, rt, sub2 = end, "EndRequest", "Succeeded", "Success", "OK"
				if r.Intn(20) == 0 {
					st, rt, sub2 = "Failed", "Failure", "BadRequest"
				}
			}
			claims := map[string]string{"appid": c.app, "ipaddr": c.ip, "http://schemas.microsoft.com/identity/claims/tenantid": tenant,
				"http://schemas.microsoft.com/identity/claims/objectidentifier": opid[:8] + corr[8:]}
			if c.ptype == "User" {
				claims["http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"] = c.upn
			}
			props := map[string]string{"eventCategory": "Administrative", "entity": res, "message": o.op, "hierarchy": tenant + "/" + sub}
			if phase == 0 && body != "" {
				props["requestbody"] = body
			}
			auth := map[string]any{"action": o.op, "scope": res, "evidence": map[string]string{"role": "Contributor", "principalType": c.ptype}}
			var ev any
			if shape == ShapeJSONL {
				ev = map[string]any{"time": ts(et), "resourceId": res, "operationName": o.op, "category": "Administrative",
					"resultType": rt, "resultSignature": sub2, "durationMs": "0", "callerIpAddress": c.ip, "correlationId": corr,
					"identity": map[string]any{"authorization": auth, "claims": claims}, "level": "Information", "location": "global", "properties": props}
			} else {
				ev = map[string]any{"authorization": auth, "caller": c.upn, "channels": "Operation", "claims": claims, "correlationId": corr,
					"eventDataId": uuid(r), "eventName": map[string]string{"value": ph}, "category": map[string]string{"value": "Administrative"},
					"eventTimestamp": ts(et), "httpRequest": map[string]string{"clientIpAddress": c.ip, "method": "PUT"},
					"level": "Informational", "operationId": opid, "operationName": map[string]string{"value": o.op, "localizedValue": o.display},
					"resourceGroupName": rg, "resourceId": res, "status": map[string]string{"value": st}, "subStatus": map[string]string{"value": sub2},
					"subscriptionId": sub, "tenantId": tenant, "properties": props}
			}
			b, err := json.Marshal(ev)
			if err != nil {
				return n, err
			}
			if shape == ShapeJSON && !first {
				bw.WriteString(",\n")
			}
			first = false
			bw.Write(b)
			if shape == ShapeJSONL {
				bw.WriteByte('\n')
			}
			n++
		}
	}
	if shape == ShapeJSON {
		bw.WriteString("\n]\n")
	}
	return n, bw.Flush()
}

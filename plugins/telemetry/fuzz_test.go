package telemetry

import (
	"os"
	"testing"

	"github.com/Velocidex/ordereddict"
)

// FuzzEvents: any bytes as an event file: no panic, Index increasing.
func FuzzEvents(f *testing.F) {
	for _, p := range []string{"testdata/1591905451.json", "testdata/custom_script_1.tld"} {
		b, err := os.ReadFile(p)
		if err == nil {
			f.Add(b)
			f.Add(b[:len(b)/2])
		}
	}
	f.Add([]byte(`{"parameters": [{"name": "OpcodeName", "value": "2024-05-02 10:11:12.123"}, {"name": 1}, 7]}`))
	f.Add([]byte(`[{"Timestamp": 5, "EventPid": "x"}, "s", [1], {"Message": "sig=abc"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		last := int64(-1)
		Parse(data, "/var/log/azure/H/events/1.json", true, func(string) {}, func(r *ordereddict.Dict) bool {
			v, _ := r.Get("Index")
			i, _ := v.(int64)
			if i <= last {
				t.Fatalf("index %d after %d", i, last)
			}
			last = i
			return true
		})
	})
}

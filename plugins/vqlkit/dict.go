package vqlkit

import (
	"strings"

	"github.com/Velocidex/ordereddict"
)

// GetFold looks a key up in a dict, exactly first, then
// case-insensitively: the Go handlers unmarshal settings with
// encoding/json, which matches keys that way, and Windows tools are not
// consistent about key case.
func GetFold(d *ordereddict.Dict, key string) (any, bool) {
	if d == nil {
		return nil, false
	}
	if v, ok := d.Get(key); ok {
		return v, true
	}
	for _, k := range d.Keys() {
		if strings.EqualFold(k, key) {
			return d.Get(k)
		}
	}
	return nil, false
}

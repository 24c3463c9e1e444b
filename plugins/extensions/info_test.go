package extensions

import (
	"reflect"
	"strings"
	"testing"

	"www.velocidex.com/golang/vfilter"
	"www.velocidex.com/golang/vfilter/types"
)

func TestPluginContract(t *testing.T) {
	args := map[string]any{
		"azure_extension_handlers": handlersArgs{},
		"azure_extension_settings": settingsArgs{},
		"azure_extension_status":   statusArgs{},
		"azure_run_executions":     executionsArgs{},
		"azure_aggregate_status":   aggregateArgs{},
	}
	scope := vfilter.NewScope()
	defer scope.Close()
	tm := types.NewTypeMap()
	for _, p := range Plugins() {
		info := p.Info(scope, tm)
		if info.Version < 1 || !strings.HasPrefix(info.Name, "azure_") || info.Doc == "" {
			t.Errorf("%s: info %+v", info.Name, info)
		}
		a, ok := args[info.Name]
		if !ok {
			t.Errorf("%s: args not listed in this test", info.Name)
			continue
		}
		rt := reflect.TypeOf(a)
		for i := 0; i < rt.NumField(); i++ {
			tag := rt.Field(i).Tag.Get("vfilter")
			j := strings.Index(tag, "doc=")
			if j < 0 {
				t.Errorf("%s.%s: no doc=", info.Name, rt.Field(i).Name)
				continue
			}
			// doc= is last, and the tag is split on ',' and '=' by vfilter.
			if d := tag[j+4:]; strings.ContainsAny(d, ",=") || d == "" {
				t.Errorf("%s.%s: doc %q holds ',' or '=' (vfilter splits on them)", info.Name, rt.Field(i).Name, d)
			}
		}
	}
}

package builtins

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"github.com/Velocidex/ordereddict"
	"www.velocidex.com/golang/vfilter"
)

// The operator protocols below give expressions the meaning they have
// under Velociraptor (comparing, testing and combining times, bools,
// dicts), so an artifact means the same under `vql` and under
// Velociraptor; the integration goldens compare the two.

// BoolTime: a time is true when after the epoch.
type BoolTime struct{}

func (BoolTime) Applicable(a vfilter.Any) bool {
	_, ok := isTime(a)
	return ok
}

func (BoolTime) Bool(ctx context.Context, scope vfilter.Scope, a vfilter.Any) bool {
	t, _ := isTime(a)
	return t.Unix() > 0
}

// BoolEq: a bool equals "Y", "y", "TRUE", "True" or true.
type BoolEq struct{}

func (BoolEq) Applicable(a, b vfilter.Any) bool {
	if _, ok := a.(bool); !ok {
		return false
	}
	switch b.(type) {
	case string, bool:
		return true
	}
	return false
}

func (BoolEq) Eq(scope vfilter.Scope, a, b vfilter.Any) bool {
	bv := false
	switch t := b.(type) {
	case string:
		switch t {
		case "Y", "y", "TRUE", "True":
			bv = true
		}
	case bool:
		bv = t
	}
	return scope.Bool(a) == bv
}

// BoolDict: dicts, lists and maps are true when not empty.
type BoolDict struct{}

func (BoolDict) Applicable(a vfilter.Any) bool {
	switch a.(type) {
	case ordereddict.Dict, *ordereddict.Dict:
		return true
	}
	rt := reflect.TypeOf(a)
	return rt != nil && (rt.Kind() == reflect.Slice || rt.Kind() == reflect.Map)
}

func (BoolDict) Bool(ctx context.Context, scope vfilter.Scope, a vfilter.Any) bool {
	switch t := a.(type) {
	case ordereddict.Dict:
		return t.Len() > 0
	case *ordereddict.Dict:
		return t.Len() > 0
	}
	v := reflect.ValueOf(a)
	if v.Kind() == reflect.Slice || v.Kind() == reflect.Map {
		return v.Len() > 0
	}
	return false
}

func twoDicts(a, b vfilter.Any) (*ordereddict.Dict, *ordereddict.Dict, bool) {
	ad, aok := a.(*ordereddict.Dict)
	bd, bok := b.(*ordereddict.Dict)
	return ad, bd, aok && bok
}

// AddDict: dict + dict is the union, the right side winning.
type AddDict struct{}

func (AddDict) Applicable(a, b vfilter.Any) bool { _, _, ok := twoDicts(a, b); return ok }

func (AddDict) Add(scope vfilter.Scope, a, b vfilter.Any) vfilter.Any {
	ad, bd, _ := twoDicts(a, b)
	res := ordereddict.NewDict()
	for _, i := range ad.Items() {
		res.Set(i.Key, i.Value)
	}
	for _, i := range bd.Items() {
		res.Update(i.Key, i.Value)
	}
	return res
}

// SubDict: dict - dict drops the right side's keys.
type SubDict struct{}

func (SubDict) Applicable(a, b vfilter.Any) bool { _, _, ok := twoDicts(a, b); return ok }

func (SubDict) Sub(scope vfilter.Scope, a, b vfilter.Any) vfilter.Any {
	ad, bd, _ := twoDicts(a, b)
	res := ordereddict.NewDict()
	for _, i := range ad.Items() {
		if _, pres := bd.Get(i.Key); !pres {
			res.Set(i.Key, i.Value)
		}
	}
	return res
}

// MulDict: dict * dict keeps the left side's keys the right side has.
type MulDict struct{}

func (MulDict) Applicable(a, b vfilter.Any) bool { _, _, ok := twoDicts(a, b); return ok }

func (MulDict) Mul(scope vfilter.Scope, a, b vfilter.Any) vfilter.Any {
	ad, bd, _ := twoDicts(a, b)
	res := ordereddict.NewDict()
	for _, i := range ad.Items() {
		if _, pres := bd.Get(i.Key); pres {
			res.Set(i.Key, i.Value)
		}
	}
	return res
}

// RegexDict: a regex applied to a dict or map matches its JSON.
type RegexDict struct{}

func (RegexDict) Applicable(pattern, target vfilter.Any) bool {
	switch target.(type) {
	case ordereddict.Dict, *ordereddict.Dict:
		return true
	}
	rt := reflect.TypeOf(target)
	return rt != nil && rt.Kind() == reflect.Map
}

func (RegexDict) Match(scope vfilter.Scope, pattern, target vfilter.Any) bool {
	serialized, _ := json.Marshal(target)
	return scope.Match(pattern, string(serialized))
}

// GenericRegex: a regex applied to a time or a number matches its %v
// form.
type GenericRegex struct{}

func (GenericRegex) Applicable(a, b vfilter.Any) bool {
	if _, ok := a.(string); !ok {
		return false
	}
	switch b.(type) {
	case time.Time, *time.Time, int, int8, int16, int32, int64,
		uint8, uint16, uint32, uint64, float64:
		return true
	}
	return false
}

func (GenericRegex) Match(scope vfilter.Scope, pattern, target vfilter.Any) bool {
	return scope.Match(pattern, fmt.Sprintf("%v", target))
}

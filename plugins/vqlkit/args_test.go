package vqlkit

import (
	"strings"
	"testing"

	"github.com/Velocidex/ordereddict"
)

type testArgs struct {
	Root     string `vfilter:"required,field=root,doc=r"`
	Redact   bool   `vfilter:"optional,field=redact,doc=x"`
	Untagged string
	Plain    string `vfilter:"optional,doc=field name is the Go name"`
}

func TestSignatureCheckArgs(t *testing.T) {
	sig := SignatureOf(&testArgs{})
	if strings.Join(sig.Names, ",") != "root,redact,Plain" || strings.Join(sig.Required, ",") != "root" {
		t.Fatalf("signature %+v", sig)
	}
	for _, c := range []struct {
		args *ordereddict.Dict
		want string
	}{
		{ordereddict.NewDict().Set("root", "/"), ""},
		{ordereddict.NewDict().Set("root", "/").Set("rot", "/"),
			`unexpected argument "rot" (valid arguments: root (required), redact, Plain)`},
		{ordereddict.NewDict().Set("redact", true),
			`missing required argument "root" (valid arguments: root (required), redact, Plain)`},
	} {
		err := sig.CheckArgs(c.args)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != c.want {
			t.Errorf("%v: got %q want %q", c.args, got, c.want)
		}
	}
}

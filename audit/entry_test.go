package audit

import (
	"reflect"
	"strings"
	"testing"
)

func TestDecodeMetadata(t *testing.T) {
	cases := []struct {
		raw     string
		want    map[string]string
		problem string // substring; empty: no problem
	}{
		{``, nil, ""},
		{`null`, nil, ""},
		{`{"service":"orders","v":""}`, map[string]string{"service": "orders", "v": ""}, ""},
		{`{"service":"orders","attempt":2,"ok":true,"tags":["a"]}`,
			map[string]string{"service": "orders", "attempt": "2", "ok": "true", "tags": `["a"]`},
			`metadata values "attempt", "ok", "tags" are not strings`},
		{`["not","an","object"]`, nil, "metadata is not a JSON object"},
		{`service=orders`, nil, `stored text "service=orders"`},
	}
	for _, c := range cases {
		got, problem := DecodeMetadata([]byte(c.raw))
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("DecodeMetadata(%s) = %v, want %v", c.raw, got, c.want)
		}
		if (c.problem == "") != (problem == "") || !strings.Contains(problem, c.problem) {
			t.Errorf("DecodeMetadata(%s) problem %q, want one containing %q", c.raw, problem, c.problem)
		}
	}
}

func TestIsUndo(t *testing.T) {
	for reason, want := range map[string]bool{
		"undo": true, "undo: bad release": true, "undo; recovered: marker": true,
		"": false, "undone by hand": false, "undoing": false, "recovered: undo": false,
	} {
		e := Entry{Reason: reason}
		if got := e.IsUndo(); got != want {
			t.Errorf("IsUndo(%q) = %v, want %v", reason, got, want)
		}
	}
}

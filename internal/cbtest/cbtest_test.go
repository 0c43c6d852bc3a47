package cbtest

import (
	"errors"
	"testing"

	"github.com/couchbase/gocb/v2"
)

func TestMain(m *testing.M) { Main(m) }

func TestClusterServesKV(t *testing.T) {
	c := Connect(t)
	coll := c.Bucket(Bucket).DefaultCollection()
	key := Prefix(t) + "::doc"
	if _, err := coll.Insert(key, map[string]int{"n": 1}, nil); err != nil {
		t.Fatalf("insert: %v", err)
	}
	if _, err := coll.Insert(key, map[string]int{"n": 2}, nil); !errors.Is(err, gocb.ErrDocumentExists) {
		t.Fatalf("second insert: got %v, want ErrDocumentExists", err)
	}
	res, err := coll.Get(key, nil)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	var v map[string]int
	if err := res.Content(&v); err != nil || v["n"] != 1 {
		t.Fatalf("content %v, %v; want n=1", v, err)
	}
}

func TestPrefixesDiffer(t *testing.T) {
	if a, b := Prefix(t), Prefix(t); a == b {
		t.Fatalf("two prefixes are equal: %s", a)
	}
}

package annotations

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestReferenceMessages keeps docs/directives.md honest: every table row
// that shows a written directive and a message must match what Parse or
// LikelyTypo says for it.
func TestReferenceMessages(t *testing.T) {
	doc, err := os.ReadFile("../docs/directives.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `([^`]+)` \\| `(.+)` \\|$")
	checked := 0
	for _, m := range row.FindAllStringSubmatch(string(doc), -1) {
		written, msg := m[1], m[2]
		if rest, ok := strings.CutPrefix(written, "... "); ok {
			written = "//flamingock:change " + rest
		}
		if _, ok, errs := Parse(written); ok {
			var msgs []string
			for _, e := range errs {
				msgs = append(msgs, e.Msg)
			}
			if !slices.Contains(msgs, msg) {
				t.Errorf("docs: Parse(%q) reports %q, not the documented %q", written, msgs, msg)
			}
		} else if hint, typo := LikelyTypo(written); !typo || !strings.HasSuffix(hint, strings.TrimPrefix(msg, "... ")) {
			t.Errorf("docs: LikelyTypo(%q) = %q, %v; documented %q", written, hint, typo, msg)
		}
		checked++
	}
	if checked < 30 {
		t.Errorf("checked only %d documented messages; did the table format change?", checked)
	}
}

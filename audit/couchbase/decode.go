package couchbase

import (
	"encoding/json"
	"fmt"

	"github.com/flamingock/flamingock-go/audit"
)

// storedEntry is an entry as stored, with the metadata left raw so that a
// value of the wrong JSON type (edited by hand) does not fail the decoding
// of the whole entry. Its Metadata field hides the embedded one from
// encoding/json.
type storedEntry struct {
	audit.Entry
	Metadata json.RawMessage `json:"metadata,omitempty"`
}

// decodeEntry decodes a stored entry. A damaged one still yields what can be
// read, with [audit.Entry.ReadError] saying what could not; changeID (the
// key it is stored under, when known) stands in for a change id that cannot
// be read. An unknown state is kept as it is stored.
func decodeEntry(raw []byte, changeID string) audit.Entry {
	var se storedEntry
	err := json.Unmarshal(raw, &se)
	e := se.Entry
	if e.ChangeID == "" {
		e.ChangeID = changeID
	}
	var problems []string
	if err != nil {
		problems = append(problems, fmt.Sprintf("entry: %v", err))
	}
	if len(se.Metadata) > 0 {
		var problem string
		e.Metadata, problem = audit.DecodeMetadata(se.Metadata)
		if problem != "" {
			problems = append(problems, problem)
		}
	}
	if len(e.Metadata) == 0 {
		e.Metadata = nil
	}
	for i, p := range problems {
		if i > 0 {
			e.ReadError += "; "
		}
		e.ReadError += p
	}
	return e
}

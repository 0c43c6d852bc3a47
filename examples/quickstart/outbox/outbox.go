package outbox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Outbox writes messages as files under Dir.
type Outbox struct {
	Dir string
}

// Publish writes a message. It refuses to overwrite one, so that a change
// that runs twice is noticed.
func (o *Outbox) Publish(name string, body []byte) error {
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(o.Dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("outbox: publish %s: %w", name, err)
	}
	if _, err := f.Write(body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Remove deletes a message; removing one that is not there is not an error.
func (o *Outbox) Remove(name string) error {
	err := os.Remove(filepath.Join(o.Dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

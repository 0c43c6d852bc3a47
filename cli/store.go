package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/storeurl"
)

// openStoreURL opens the audit store of the standalone command through the
// openers the program's store packages registered (cmd/flamingock imports
// them all; see package storeurl). A URL that is wrong is a usage error.
func openStoreURL(ctx context.Context, raw string) (audit.Store, error) {
	s, err := storeurl.Open(ctx, raw)
	switch {
	case errors.Is(err, storeurl.ErrInvalid):
		return nil, usageErr(err)
	case err != nil:
		return nil, fmt.Errorf("%w\n(the store URL comes from --store or %s)", err, EnvStore)
	}
	return s, nil
}

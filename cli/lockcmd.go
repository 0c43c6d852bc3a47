package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/internal/cliout"
)

func (e *env) lockCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "lock",
		Short: "Show or break the run lock",
		Long: "Runs (and resolutions) hold a lease on a lock in the audit store while they write. A lease\n" +
			"expires by itself when its holder stops refreshing it; validity is judged by the store's clock.",
	}
	group(c)
	c.AddCommand(e.lockShowCmd(), e.lockReleaseCmd())
	return c
}

// readLock returns the stored lease, or nil when nobody holds the lock.
func readLock(c *cobra.Command, store audit.Store) (*audit.LockInfo, error) {
	info, err := store.LockInfo(c.Context())
	switch {
	case errors.Is(err, audit.ErrNoLock):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("reading the run lock: %w", err)
	}
	return &info, nil
}

func (e *env) lockShowCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "show",
		Short: "Show who holds the run lock and until when",
		Args:  noArgs,
	}
	c.RunE = e.run(func(c *cobra.Command, o *out) error {
		store, done, err := e.openStore(c.Context())
		if err != nil {
			return err
		}
		defer done()
		info, err := readLock(c, store)
		if err != nil {
			return err
		}
		if o.json {
			return o.writeJSON(toLockJSON(info, o.loc))
		}
		if info == nil {
			o.printf("No lock is held: no run is in progress.\n")
			return nil
		}
		writeLock(o, info)
		return nil
	})
	return c
}

func writeLock(o *out, info *audit.LockInfo) {
	label := func(s string) string { return o.paint(fmt.Sprintf("%-10s", s), cliout.Bold) }
	left := info.ExpiresAt.Sub(info.Now)
	if info.Valid() {
		o.printf("%s %s, for %s more by the store's clock\n", label("Lock:"), o.paint("held", cliout.Yellow), cliout.Duration(left))
	} else {
		o.printf("%s %s %s ago: the next run takes it over; nothing to do\n", label("Lock:"), o.paint("expired", cliout.Green), cliout.Duration(-left))
	}
	o.printf("%s host %s, pid %d, run %s\n", label("Owner:"), info.Owner.Host, info.Owner.PID, info.Owner.RunID)
	o.printf("%s %d\n", label("Token:"), info.Token)
	o.printf("%s %s\n", label("Acquired:"), o.time(info.AcquiredAt))
	o.printf("%s %s\n", label("Expires:"), o.time(info.ExpiresAt))
}

func (e *env) lockReleaseCmd() *cobra.Command {
	var force, evenIfValid bool
	c := &cobra.Command{
		Use:   "release",
		Short: "Remove the stored lease (needs --force; refuses a valid lease without --even-if-valid)",
		Long: "Remove the run lock's lease. An expired lease needs no release (the next run takes it over);\n" +
			"this is for a lease whose holder is known to be gone. A lease that is still valid by the\n" +
			"store's clock belongs, as far as anyone can tell, to a live run: it is kept unless\n" +
			"--even-if-valid is given. Fencing tokens keep the audit trail safe either way: a holder\n" +
			"that was wrongly released can no longer write.",
		Args: noArgs,
	}
	c.Flags().BoolVar(&force, "force", false, "confirm that you mean to remove the lease (required)")
	c.Flags().BoolVar(&evenIfValid, "even-if-valid", false, "remove the lease even if it has not expired")
	c.RunE = e.run(func(c *cobra.Command, o *out) error {
		if !force {
			return usagef("%s removes the lease that keeps runs apart: pass --force to confirm", c.CommandPath())
		}
		store, done, err := e.openStore(c.Context())
		if err != nil {
			return err
		}
		defer done()
		info, err := readLock(c, store)
		if err != nil {
			return err
		}
		if info == nil {
			if o.json {
				return o.writeJSON(lockReleaseJSON{SchemaVersion: SchemaVersion, Lock: toLockJSON(nil, o.loc)})
			}
			o.printf("No lock is held: nothing to release.\n")
			return nil
		}
		if info.Valid() && !evenIfValid {
			return fmt.Errorf("the lease of run %s (host %s, pid %d) is still valid for %s by the store's clock, so a run is probably in progress: wait for it to finish or for the lease to expire; if you are sure that process is gone, add --even-if-valid",
				info.Owner.RunID, info.Owner.Host, info.Owner.PID, cliout.Duration(info.ExpiresAt.Sub(info.Now)))
		}
		if err := store.ForceReleaseLock(c.Context()); err != nil {
			return fmt.Errorf("releasing the run lock: %w", err)
		}
		if o.json {
			return o.writeJSON(lockReleaseJSON{SchemaVersion: SchemaVersion, Released: true, WasValid: info.Valid(), Lock: toLockJSON(info, o.loc)})
		}
		state := "expired " + cliout.Duration(info.Now.Sub(info.ExpiresAt)) + " before"
		if info.Valid() {
			state = o.paint("still valid", cliout.Yellow)
		}
		o.printf("Released the lock of run %s (host %s, pid %d, token %d); its lease was %s.\n", info.Owner.RunID, info.Owner.Host, info.Owner.PID, info.Token, state)
		return nil
	})
	return c
}

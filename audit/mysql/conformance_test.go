package mysql_test

import (
	"context"
	"testing"
	"time"
	_ "time/tzdata" // a named zone for parseTime-zone, whatever the machine has

	driver "github.com/go-sql-driver/mysql"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/audittest"
	"github.com/flamingock/flamingock-go/audit/mysql"
	"github.com/flamingock/flamingock-go/internal/mytest"
)

// TestConformance runs the audit store suite with the driver's defaults
// (timestamps read as text) and with parseTime in a non-UTC zone, which
// must read the same instants.
func TestConformance(t *testing.T) {
	kolkata, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Fatal(err)
	}
	configs := map[string]func(*driver.Config){
		"text-times": func(*driver.Config) {},
		"parseTime-zone": func(c *driver.Config) {
			c.ParseTime = true
			c.Loc = kolkata
		},
	}
	for name, configure := range configs {
		t.Run(name, func(t *testing.T) {
			audittest.Run(t, func(t *testing.T) audittest.Opener {
				d := mytest.New(t)
				// Each opener call gets its own pool, as another process would.
				return func() (audit.Store, error) {
					return mysql.New(context.Background(), d.DB(t, configure))
				}
			})
		})
	}
}

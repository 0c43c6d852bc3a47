// Package inventory is the MySQL/MariaDB example's only stage. Its data
// changes run in a transaction of the inventory-db target, and because the
// audit store shares the target's *sql.DB, each one commits together with
// its audit entry. Its schema changes are declared transactional=false,
// each with a rollback: MySQL and MariaDB commit the open transaction on
// DDL, so a schema change could not commit atomically with its entry (the
// target refuses a transactional change that tries).
package inventory

//go:generate go tool flamingock-gen

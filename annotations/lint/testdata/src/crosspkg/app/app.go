// want package:"flamingock ids shared,app-only"

// Package app imports package base and reuses one of its ids.
package app

import (
	"context"

	_ "crosspkg/base"
)

// want +2 `change "shared": duplicate change id: also declared in package crosspkg/base at .*base.go:10:21; ids must be unique across all stages`
//
//flamingock:change id=shared order=1
func Shared(ctx context.Context) error { return nil }

// AppOnly passes: no package it imports declares "app-only".
//
//flamingock:change id=app-only order=2
func AppOnly(ctx context.Context) error { return nil }

//go:build !unix

package cbtest

import "errors"

func lockFile(string) (func(), error) {
	return nil, errors.New("building gocaves needs a unix file lock; set " + EnvBinary + " to a gocaves binary")
}

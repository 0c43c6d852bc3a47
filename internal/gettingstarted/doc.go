// Package gettingstarted holds only a test: it follows the README's "Start
// a new project" section verbatim in a fresh module outside the repository,
// against this checkout, so that the section keeps working for a new user.
package gettingstarted

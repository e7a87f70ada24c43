// Package steps is what the five steps of GoPythonGo share. Each step is a
// package of its own below it (versionstep, teststep, buildvenvstep,
// packagestep, publishstep), so that each binary links only the libraries
// its step uses; all are of one shape: flags and help, the state prologue
// (Session.Begin), one call into the libraries, and the epilogue
// (Session.Finish). They are the only packages above the libraries.
package steps

import (
	"path/filepath"

	"github.com/gopythongo/gopythongo/internal/cli"
	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/store"
	"github.com/gopythongo/gopythongo/internal/venv"
)

// ConfigChecks are the rules of the stores and builders, which every step
// holds the configuration to: a bad store fails the pipeline's first step.
func ConfigChecks() []config.Check {
	return []config.Check{venv.CheckConfig, store.CheckConfig}
}

// StoreEnv is what stores need from the session: the configuration, the
// step's environment for secrets (masked in the CI log), and the log for
// retries.
func StoreEnv(s *cli.Session) store.Env {
	return store.Env{Config: s.Config, Getenv: s.Getenv, Log: s.Log.Printf, Mask: s.Reporter.Mask}
}

// DistPath is how outputs name a file of the dist directory: as configured
// (dist/…), with forward slashes.
func DistPath(s *cli.Session, rel string) string {
	return filepath.ToSlash(filepath.Join(s.Config.Project.Dist, rel))
}

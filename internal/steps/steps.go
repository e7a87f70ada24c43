// Package steps is the five steps of GoPythonGo, one file each, all of one
// shape: flags and help, the state prologue (Session.Begin), one call into the
// libraries, and the epilogue (Session.Finish). It is the only package above
// the libraries.
package steps

import (
	"path/filepath"

	"github.com/gopythongo/gopythongo/internal/cli"
	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/store"
	"github.com/gopythongo/gopythongo/internal/venv"
)

// configChecks are the rules of the stores and builders, which every step
// holds the configuration to: a bad store fails the pipeline's first step.
func configChecks() []config.Check {
	return []config.Check{venv.CheckConfig, store.CheckConfig}
}

// storeEnv is what stores need from the session: the configuration, the
// step's environment for secrets (masked in the CI log), and the log for
// retries.
func storeEnv(s *cli.Session) store.Env {
	return store.Env{Config: s.Config, Getenv: s.Getenv, Log: s.Log.Printf, Mask: s.Reporter.Mask}
}

// distPath is how outputs name a file of the dist directory: as configured
// (dist/…), with forward slashes.
func distPath(s *cli.Session, rel string) string {
	return filepath.ToSlash(filepath.Join(s.Config.Project.Dist, rel))
}

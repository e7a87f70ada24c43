// Package steps is what the five steps of GoPythonGo share. Each step is a
// package of its own below it (versionstep, teststep, buildvenvstep,
// packagestep, publishstep), so that each binary links only the libraries
// its step uses; all are of one shape: flags and help, the state prologue
// (Session.Begin), one call into the libraries, and the epilogue
// (Session.Finish). They are the only packages above the libraries.
package steps

import (
	"errors"
	"path/filepath"

	"github.com/gopythongo/gopythongo/internal/check"
	"github.com/gopythongo/gopythongo/internal/cli"
	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/state"
	"github.com/gopythongo/gopythongo/internal/storetype"
)

// ConfigChecks are the rules of the stores, which every step holds the
// configuration to: a bad store fails the pipeline's first step.
func ConfigChecks() []config.Check {
	return []config.Check{storetype.CheckConfig}
}

// DistPath is how outputs name a file of the dist directory: as configured
// (dist/…), with forward slashes.
func DistPath(s *cli.Session, rel string) string {
	return filepath.ToSlash(filepath.Join(s.Config.Project.Dist, rel))
}

// StateFinding is --check's finding of the state file that earlier steps
// write: of this commit and holding what the step needs (lack says what is
// missing, "" nothing), or a note that it is not written yet. It returns the
// state when there is one.
func StateFinding(s *cli.Session, lack func(*state.State) string) (check.Finding, *state.State) {
	const subject = "state file"
	st, err := state.Load(s.Config.DistDir())
	switch {
	case errors.Is(err, state.ErrMissing):
		return check.Notef(subject, "%s is not there yet: the steps before this one write it (gopythongo-version first)", state.Path(s.Config.DistDir())), nil
	case err != nil:
		return check.Bad(subject, err), nil
	}
	if err := st.CheckCommit(s.Commit().SHA, s.Force); err != nil {
		return check.Bad(subject, err), st
	}
	if l := lack(st); l != "" {
		return check.Notef(subject, "%s", l), st
	}
	v := "no version"
	if st.Version != nil {
		v = "version " + st.Version.SemVer
	}
	return check.Good(subject, "%s, %s", state.Path(s.Config.DistDir()), v), st
}

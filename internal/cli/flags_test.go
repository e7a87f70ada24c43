package cli_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gopythongo/gopythongo/internal/cli"
	"github.com/gopythongo/gopythongo/internal/steps/buildvenvstep"
	"github.com/gopythongo/gopythongo/internal/testutil/steptest"
)

// TestFlagErrorsSpellFlagsAsTheHelpDoes: a wrong flag is named with two
// dashes, as --help names it, with the flag it most likely means.
func TestFlagErrorsSpellFlagsAsTheHelpDoes(t *testing.T) {
	g := repo(t)
	ok := func(context.Context, *cli.Session) error { return nil }
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--versoin"}, "gopythongo-t: unknown flag --versoin (did you mean --version?)\n"},
		{[]string{"-verison"}, "unknown flag --verison (did you mean --version?)"},
		{[]string{"--frobnicate"}, "gopythongo-t: unknown flag --frobnicate\nRun gopythongo-t --help"},
		{[]string{"--config"}, "flag needs an argument: --config"},
		{[]string{"--version=maybe"}, `invalid boolean value "maybe" for --version`},
	} {
		code, _, stderr := run(t, g.Dir, nil, ok, tc.args...)
		assert.Equal(t, cli.ExitUsage, code, tc.args)
		assert.Contains(t, stderr, tc.want, tc.args)
		assert.NotRegexp(t, `(^|\s)-[a-z]`, stderr, "a flag with one dash")
	}
}

// TestHelpKeepsWholeSentences: a flag's line in --help ends at a full stop,
// not at the one of "e.g.".
func TestHelpKeepsWholeSentences(t *testing.T) {
	code, stdout, _ := steptest.Run(t, buildvenvstep.BuildVenv(), t.TempDir(), nil, "--help")
	assert.Equal(t, cli.ExitOK, code)
	assert.Contains(t, stdout, "e.g. /opt/hello")
	assert.NotRegexp(t, `(?m)\be\.g$`, stdout)
	assert.NotRegexp(t, `(?m)\bi\.e$`, stdout)
}

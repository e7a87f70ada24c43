package steps_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/cli"
	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/steps/buildvenvstep"
	"github.com/gopythongo/gopythongo/internal/steps/packagestep"
	"github.com/gopythongo/gopythongo/internal/steps/publishstep"
	"github.com/gopythongo/gopythongo/internal/steps/teststep"
	"github.com/gopythongo/gopythongo/internal/steps/versionstep"
	"github.com/gopythongo/gopythongo/internal/testutil"
	"github.com/gopythongo/gopythongo/internal/testutil/steptest"
	"github.com/gopythongo/gopythongo/internal/venv"
)

func TestMain(m *testing.M) {
	if venv.IsNSExec(os.Args) {
		os.Exit(venv.NSExecMain())
	}
	os.Exit(m.Run())
}

// runStep runs a step in dir with exactly the given environment.
func runStep(t *testing.T, step cli.Step, dir string, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	return steptest.Run(t, step, dir, env, args...)
}

// must runs a step that has to succeed.
func must(t *testing.T, step cli.Step, dir string, env map[string]string, args ...string) string {
	t.Helper()
	code, stdout, stderr := runStep(t, step, dir, env, args...)
	require.Equal(t, 0, code, "%s: %s", step.Name, stderr)
	return stdout
}

// TestEveryStepHoldsTheImplementationsRules: a store or builder missing what
// its type needs fails every step with exit 2 before it does anything, so a
// pipeline stops at its first step, not at publish.
func TestEveryStepHoldsTheImplementationsRules(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".gopythongo.yaml"), []byte("schema: 1\nproject: {name: t}\nvenv: {builder: container}\npublish:\n  stores:\n    - {name: a, type: aptly}\n"), 0o644))
	for _, step := range []cli.Step{versionstep.Version(steptest.AskStore), teststep.Test(), buildvenvstep.BuildVenv(), packagestep.Package(), publishstep.Publish(steptest.NewSigner)} {
		code, _, stderr := runStep(t, step, dir, nil, "--print-config")
		assert.Equal(t, cli.ExitUsage, code, step.Name)
		assert.Contains(t, stderr, `.gopythongo.yaml:6: publish.stores[0]: store "a" of type aptly needs url`, step.Name)
		assert.Contains(t, stderr, "venv.container.image", step.Name)
	}
}

// TestEveryStepsKeyFlagsNameKeys: a flag that sets a configuration key names
// one that exists outside maps and lists, and a boolean one stands alone.
func TestEveryStepsKeyFlagsNameKeys(t *testing.T) {
	bools := 0
	for _, step := range []cli.Step{versionstep.Version(steptest.AskStore), teststep.Test(), buildvenvstep.BuildVenv(), packagestep.Package(), publishstep.Publish(steptest.NewSigner)} {
		for _, kf := range step.Keys {
			k, ok := config.LookupKey(kf.Path)
			if !assert.True(t, ok, "%s --%s names no key %s", step.Name, kf.Flag, kf.Path) || k.TypeName() != "boolean" {
				continue
			}
			bools++
			dir := t.TempDir()
			code, stdout, stderr := runStep(t, step, dir, nil, "--"+kf.Flag, "--print-config")
			require.Equal(t, 0, code, "%s --%s: %s", step.Name, kf.Flag, stderr)
			assert.Regexp(t, `(?m)^`+regexp.QuoteMeta(kf.Path)+`\s+true\s+flag --`+regexp.QuoteMeta(kf.Flag)+`$`, stdout)
		}
	}
	assert.NotZero(t, bools, "some key flags are boolean")
}

// TestExamplesHoldNoBuildArtefacts: what the examples ship is source, not
// what a build left (egg-info, bytecode, wheels, dist/).
func TestExamplesHoldNoBuildArtefacts(t *testing.T) {
	out, err := exec.Command("git", "-C", testutil.RepoRoot(), "ls-files", "examples").Output()
	require.NoError(t, err)
	files := strings.Fields(string(out))
	require.NotEmpty(t, files)
	artefact := regexp.MustCompile(`\.egg-info/|__pycache__/|\.pyc$|\.whl$|(^|/)(build|dist)/`)
	for _, f := range files {
		assert.NotRegexp(t, artefact, f)
	}
}

// TestEachStepLinksOnlyWhatItUses: OpenPGP is linked by the steps that sign,
// the store implementations and the registry client by the steps that
// publish or pull images; a version run at a tag pays for every package
// initialiser linked (the version step asks gopythongo-publish instead).
func TestEachStepLinksOnlyWhatItUses(t *testing.T) {
	never := []string{"github.com/ProtonMail/go-crypto", "github.com/google/go-containerregistry", "github.com/gopythongo/gopythongo/internal/store", "github.com/gopythongo/gopythongo/internal/pgp"}
	// Nor does the version step link wheels, archives or the network: it
	// reads git and two project files.
	versionNever := append(never, "github.com/klauspost/compress")
	versionNeverExactly := []string{"github.com/gopythongo/gopythongo/internal/python", "archive/zip", "net", "net/http"}
	for _, step := range []string{"gopythongo-version", "gopythongo-test", "gopythongo-build-venv"} {
		cmd := exec.Command("go", "list", "-deps", "./steps/"+step)
		cmd.Dir = testutil.RepoRoot()
		out, err := cmd.Output()
		require.NoError(t, err, step)
		deps := strings.Fields(string(out))
		require.Contains(t, deps, "github.com/gopythongo/gopythongo/internal/config", "go list lists %s's packages", step)
		never := never
		if step == "gopythongo-version" {
			never = versionNever
		}
		for _, d := range deps {
			if step == "gopythongo-version" {
				assert.NotContains(t, versionNeverExactly, d, "%s links %s", step, d)
			}
			for _, n := range never {
				assert.False(t, d == n || strings.HasPrefix(d, n+"/"), "%s links %s", step, d)
			}
		}
	}
}

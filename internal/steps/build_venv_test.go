package steps_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/cli"
	"github.com/gopythongo/gopythongo/internal/python"
	"github.com/gopythongo/gopythongo/internal/state"
	"github.com/gopythongo/gopythongo/internal/steps/buildvenvstep"
	"github.com/gopythongo/gopythongo/internal/testutil"
)

const helloConfig = `schema: 1
project: {name: hello, deploy_path: /opt/hello, python: /usr/bin/python3}
venv:
  find_links: [wheels]
  no_index: true
  build_isolation: false
`

func TestBuildVenv(t *testing.T) {
	p := testutil.HelloProject(t, helloConfig)
	env := map[string]string{"GOPYTHONGO_VENV_CACHE_DIR": t.TempDir()}
	code, _, stderr := runStep(t, buildvenvstep.BuildVenv(), p.Dir, env)
	assert.Equal(t, cli.ExitUsage, code)
	assert.Contains(t, stderr, "run gopythongo-version first")

	st := &state.State{Commit: state.Commit{SHA: p.Head(), Provider: "local", Time: 1700000000}}
	require.NoError(t, st.Save(filepath.Join(p.Dir, "dist")))
	code, stdout, stderr := runStep(t, buildvenvstep.BuildVenv(), p.Dir, env)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "deploy_path=/opt/hello\n")
	got, err := state.Load(filepath.Join(p.Dir, "dist"))
	require.NoError(t, err)
	require.NotNil(t, got.Venv)
	assert.Equal(t, "dist/root", got.Venv.Root)
	assert.Len(t, got.Venv.Distributions, 2)

	// A state file of another commit is refused unless forced.
	p.Commit("next")
	code, _, stderr = runStep(t, buildvenvstep.BuildVenv(), p.Dir, env)
	assert.Equal(t, cli.ExitUsage, code)
	assert.Contains(t, stderr, "--force")
	code, _, stderr = runStep(t, buildvenvstep.BuildVenv(), p.Dir, env, "--force")
	assert.Equal(t, 0, code, stderr)
}

const libDistConfig = `schema: 1
project: {name: hello-lib, python: /usr/bin/python3}
venv:
  find_links: [/usr/share/python-wheels]
  no_index: true
  build_isolation: %s
`

// TestDistOnly builds hello-lib's wheel and sdist with the state file's
// version, with and without build isolation, reproducibly. Isolated, the
// build environment from the cache and pip's (venv.resolver: pip) give the
// same bytes.
func TestDistOnly(t *testing.T) {
	isolated := map[string]map[string]string{}
	for _, tc := range []struct{ isolation, resolver string }{{"false", "native"}, {"true", "native"}, {"true", "pip"}} {
		t.Run("isolation "+tc.isolation+", resolver "+tc.resolver, func(t *testing.T) {
			p := testutil.LibProject(t, fmt.Sprintf(libDistConfig, tc.isolation))
			dist := filepath.Join(p.Dir, "dist")
			st := &state.State{Commit: state.Commit{SHA: p.Head(), Provider: "local", Time: 1700000000},
				Version: &state.Version{PEP440: "1.3.0.dev4+gabc", SemVer: "1.3.0-dev.4+gabc"}}
			require.NoError(t, st.Save(dist))
			env := map[string]string{"GOPYTHONGO_VENV_CACHE_DIR": t.TempDir(), "GOPYTHONGO_VENV_RESOLVER": tc.resolver}
			code, stdout, stderr := runStep(t, buildvenvstep.BuildVenv(), p.Dir, env, "--dist-only")
			require.Equal(t, 0, code, stderr)
			assert.Contains(t, stdout, "wheel=dist/python/hello_lib-1.3.0.dev4+gabc-py3-none-any.whl\n")
			assert.Regexp(t, `sdist=dist/python/hello[-_]lib-1\.3\.0\.dev4\+gabc\.tar\.gz\n`, stdout, "the name is the backend's (setuptools 66 keeps the dash)")
			got, err := state.Load(dist)
			require.NoError(t, err)
			require.Len(t, got.Artifacts, 2)
			assert.Nil(t, got.Venv, "no venv in a dist-only build")
			sums := map[string]string{}
			for _, a := range got.Artifacts {
				sums[a.Path] = a.SHA256
				m, err := metadataOf(filepath.Join(dist, a.Path))
				require.NoError(t, err)
				assert.Equal(t, "1.3.0.dev4+gabc", m.Version, a.Path)
			}
			_, err = os.Stat(filepath.Join(p.Dir, "build"))
			assert.True(t, os.IsNotExist(err), "the workspace gets no build/")

			// Again, without the cache's records: the same bytes.
			code, _, stderr = runStep(t, buildvenvstep.BuildVenv(), p.Dir, env, "--dist-only", "--no-cache")
			require.Equal(t, 0, code, stderr)
			got, err = state.Load(dist)
			require.NoError(t, err)
			for _, a := range got.Artifacts {
				assert.Equal(t, sums[a.Path], a.SHA256, "%s is reproducible", a.Path)
			}
			if tc.isolation == "true" {
				isolated[tc.resolver] = sums
			}
		})
	}
	require.Len(t, isolated, 2)
	assert.Equal(t, isolated["pip"], isolated["native"], "pip's build environment and the cached one build the same wheel and sdist")
}

func metadataOf(p string) (python.Metadata, error) {
	if filepath.Ext(p) == ".whl" {
		return python.WheelMetadata(p)
	}
	return python.SdistMetadata(p)
}

// TestBuildSetsVersionAndDists builds the application with the state file's
// version, and its wheel and sdist beside the venv (venv.dists).
func TestBuildSetsVersionAndDists(t *testing.T) {
	p := testutil.HelloProject(t, helloConfig)
	dist := filepath.Join(p.Dir, "dist")
	st := &state.State{Commit: state.Commit{SHA: p.Head(), Provider: "local", Time: 1700000000},
		Version: &state.Version{PEP440: "1.3.0rc2", SemVer: "1.3.0-rc.2"}}
	require.NoError(t, st.Save(dist))
	code, stdout, stderr := runStep(t, buildvenvstep.BuildVenv(), p.Dir, map[string]string{"GOPYTHONGO_VENV_CACHE_DIR": t.TempDir()}, "--dists")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "wheel=dist/python/hello-1.3.0rc2-py3-none-any.whl\n")
	got, err := state.Load(dist)
	require.NoError(t, err)
	require.NotNil(t, got.Venv)
	versions := map[string]string{}
	for _, d := range got.Venv.Distributions {
		versions[d.Name] = d.Version
	}
	assert.Equal(t, "1.3.0rc2", versions["hello"], "the venv holds the version being built, not pyproject's 1.0.0")
	assert.Len(t, got.Artifacts, 2)
}

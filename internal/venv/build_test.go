package venv

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/testutil"
	"github.com/gopythongo/gopythongo/internal/ui"
)

func TestMain(m *testing.M) {
	if IsNSExec(os.Args) {
		os.Exit(NSExecMain())
	}
	if spec := os.Getenv(installEnv); spec != "" {
		os.Exit(installHelper(spec))
	}
	if staging := os.Getenv(nonRootEnv); staging != "" {
		os.Exit(nonRootHelper(staging))
	}
	os.Exit(m.Run())
}

const helloConfig = `schema: 1
project: {name: hello, deploy_path: /opt/hello, python: /usr/bin/python3}
venv:
  find_links: [wheels]
  no_index: true
  build_isolation: false
`

var epoch = time.Unix(1700000000, 0).UTC()

type buildRun struct {
	res *Result
	err error
	log string
	cfg *config.Config
}

func buildIn(t *testing.T, dir, cacheDir string, env ...string) buildRun {
	t.Helper()
	return buildWith(t, dir, cacheDir, epoch, false, env...)
}

// buildWith builds at a commit time, with the caches' records or without.
func buildWith(t *testing.T, dir, cacheDir string, at time.Time, noCache bool, env ...string) buildRun {
	t.Helper()
	cfg, err := config.Load(config.Options{Dir: dir, Environ: append(env, "GOPYTHONGO_VENV_CACHE_DIR="+cacheDir)})
	require.NoError(t, err)
	var log bytes.Buffer
	res, err := Build(context.Background(), Options{Config: cfg, Epoch: at, NoCache: noCache, Getenv: envWith(env), Log: ui.New(&log, "test", nil), Output: &log})
	return buildRun{res: res, err: err, log: log.String(), cfg: cfg}
}

// envWith is os.Getenv with the KEY=value entries of env first: the
// variables a build expands (index credentials) without t.Setenv, so that
// the tests using them can run in parallel.
func envWith(env []string) func(string) string {
	return func(k string) string {
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, k+"="); ok {
				return v
			}
		}
		return os.Getenv(k)
	}
}

// inNamespace runs a command where the built tree is mounted at its deploy path.
func inNamespace(t *testing.T, root, deploy string, argv ...string) string {
	t.Helper()
	return inTarget(t, "host", nil, root, deploy, argv...)
}

// inTarget runs a command in the target environment of a builder (this
// machine, a fresh copy of the chroot builder's root, a container of the
// build image) with the built tree mounted at its deploy path.
func inTarget(t *testing.T, builder string, env []string, root, deploy string, argv ...string) string {
	t.Helper()
	cfg, err := config.Load(config.Options{Dir: t.TempDir(), Environ: env})
	require.NoError(t, err)
	b, err := NewBuilder(builder, BuilderOptions{Python: testutil.DebianPython, Staging: filepath.Join(root, deploy), DeployPath: deploy, Scratch: t.TempDir(),
		Cache: t.TempDir(), Chroot: cfg.Venv.Chroot, Container: cfg.Venv.Container, Log: t.Logf})
	require.NoError(t, err)
	if c, ok := b.(io.Closer); ok {
		defer c.Close()
	}
	var out bytes.Buffer
	err = b.Run(context.Background(), Command{Argv: argv, Env: []string{"PATH=/usr/bin:/bin", "LC_ALL=C.UTF-8"}, Dir: "/", Stdout: &out, Stderr: &out})
	require.NoError(t, err, out.String())
	return out.String()
}

// TestBuildHello is the integration test every builder passes: host, chroot
// and container build examples/hello alike.
func TestBuildHello(t *testing.T) {
	for _, name := range []string{"host", "chroot", "container", "container from a Dockerfile"} {
		t.Run(name, func(t *testing.T) {
			builder, _, dockerfile := strings.Cut(name, " ")
			env := testutil.BuilderEnv(t, builder)
			p := testutil.HelloProject(t, helloConfig)
			if dockerfile {
				// The build image made from a Dockerfile on the test image.
				p.WriteFile("docker/Dockerfile", "FROM "+testutil.TestImage(t)+"\nRUN [\"touch\", \"/etc/gopythongo-dockerfile\"]\n")
				p.Git("add", "-A")
				p.Commit("a build image")
				env = append(env, "GOPYTHONGO_VENV_CONTAINER_IMAGE=", "GOPYTHONGO_VENV_CONTAINER_DOCKERFILE=docker/Dockerfile",
					"GOPYTHONGO_VENV_CONTAINER_CONTEXT=docker", "GOPYTHONGO_VENV_CONTAINER_BUILD_ARGS=[--pull=never, "+strings.Join(testutil.PodmanRunArgs, ", ")+"]")
			}
			_, err := os.Stat("/opt/hello")
			hostHadIt := err == nil
			run := buildIn(t, p.Dir, t.TempDir(), env...)
			require.NoError(t, run.err, run.log)
			res := run.res
			if dockerfile {
				// The target is the image built from it.
				require.NotNil(t, res.Venv.Target)
				env = append(testutil.BuilderEnv(t, builder), "GOPYTHONGO_VENV_CONTAINER_IMAGE="+res.Venv.Target.Image)
			}
			root := filepath.Join(p.Dir, "dist", "root")
			assert.Equal(t, root, res.Root)
			venv := filepath.Join(root, "opt", "hello")

			script, err := os.ReadFile(filepath.Join(venv, "bin", "hello"))
			require.NoError(t, err)
			assert.True(t, strings.HasPrefix(string(script), "#!/opt/hello/bin/python\n"), "shebang: %q", strings.SplitN(string(script), "\n", 2)[0])
			link, err := os.Readlink(filepath.Join(venv, "bin", "python"))
			require.NoError(t, err)
			assert.Contains(t, link, "python3")
			cfg, err := os.ReadFile(filepath.Join(venv, "pyvenv.cfg"))
			require.NoError(t, err)
			assert.Contains(t, string(cfg), "command = /usr/bin/python3 -m venv --without-pip /opt/hello")
			_, err = os.Stat(filepath.Join(venv, "bin", "pip"))
			assert.True(t, os.IsNotExist(err), "no pip in a production venv")
			_, err = os.Stat(filepath.Join(venv, "lib", "python3.11", "site-packages", "hello-1.0.0.dist-info", "direct_url.json"))
			assert.True(t, os.IsNotExist(err), "no direct_url.json naming a path of this machine")

			// The console script runs at the deploy path, in the target, and
			// the bytecode (compiled by the target interpreter, hash-based and
			// unchecked) names the deploy path.
			pycs, _ := filepath.Glob(filepath.Join(venv, "lib", "python3.11", "site-packages", "hello", "__pycache__", "cli.cpython-311.pyc"))
			require.Len(t, pycs, 1)
			data, err := os.ReadFile(pycs[0])
			require.NoError(t, err)
			assert.Equal(t, uint32(1), binary.LittleEndian.Uint32(data[4:8]), "flags: hash-based, unchecked")
			out := inTarget(t, builder, env, root, "/opt/hello", "/bin/sh", "-c", "/opt/hello/bin/hello GoPythonGo && /opt/hello/bin/hello --where && "+
				"/opt/hello/bin/python -c \"import marshal,sys; f=open(sys.argv[1],'rb'); f.read(16); print(marshal.load(f).co_filename)\" "+
				"/opt/hello/lib/python3.11/site-packages/hello/__pycache__/cli.cpython-311.pyc")
			assert.Equal(t, "Hello, GoPythonGo!\n/opt/hello\n/opt/hello/lib/python3.11/site-packages/hello/cli.py\n", out)

			// Every time stamp is SOURCE_DATE_EPOCH.
			fi, err := os.Lstat(filepath.Join(venv, "bin", "python"))
			require.NoError(t, err)
			assert.Equal(t, epoch.Unix(), fi.ModTime().Unix())

			// What the state file will record.
			v := res.Venv
			assert.Equal(t, builder, v.Builder)
			assert.Equal(t, "/opt/hello", v.DeployPath)
			assert.Equal(t, "dist/root", v.Root)
			assert.Equal(t, "3.11.2", v.Interpreter.Version[:6])
			assert.Equal(t, "/usr/bin/python3.11", v.Interpreter.Executable)
			assert.Equal(t, "python3.11", v.Interpreter.Package, "the target's dpkg names the interpreter's package")
			require.Len(t, v.Distributions, 2)
			assert.Equal(t, "hello", v.Distributions[0].Name)
			assert.True(t, v.Distributions[0].IsProject)
			assert.Equal(t, "hello-lib", v.Distributions[1].Name)
			assert.Equal(t, "1.2.0", v.Distributions[1].Version)
			assert.Equal(t, "MIT", v.Distributions[1].License)
			assert.Len(t, v.Distributions[1].SHA256, 64)
			assert.Greater(t, v.Files, 20)
			assert.Len(t, v.Digest, 64)
			assert.Empty(t, v.Depends, "pure Python needs no shared library")
			switch builder {
			case "chroot":
				require.NotNil(t, v.Target)
				assert.Equal(t, "bookworm", v.Target.Distribution)
				assert.Equal(t, "amd64", v.Target.Architecture)
				// The cached tree is shared by builds and never written:
				// the build's changes went to its own layer.
				trees, _ := filepath.Glob(filepath.Join(testutil.RootsDir(), "*.root"))
				require.NotEmpty(t, trees)
				for _, tree := range trees {
					_, err := os.Stat(filepath.Join(tree, "opt", "hello"))
					assert.True(t, os.IsNotExist(err), "%s/opt/hello", tree)
				}
			case "container":
				require.NotNil(t, v.Target)
				assert.Regexp(t, "^sha256:|^[0-9a-f]{64}$", v.Target.Key, "the image's ID")
				if dockerfile {
					assert.Regexp(t, `^localhost/gopythongo-build:[0-9a-f]{16}$`, v.Target.Image)
					inTarget(t, builder, env,
						root, "/opt/hello", "test", "-f", "/etc/gopythongo-dockerfile")
				} else {
					assert.Equal(t, testutil.TestImage(t), v.Target.Image)
				}
			}

			// The machine's own /opt/hello was never written; the workspace
			// got no build output; no temporary directory is left in dist.
			_, err = os.Stat("/opt/hello")
			assert.Equal(t, hostHadIt, err == nil)
			for _, junk := range []string{"build", "src/hello.egg-info"} {
				_, err := os.Stat(filepath.Join(p.Dir, junk))
				assert.True(t, os.IsNotExist(err), junk)
			}
			entries, _ := os.ReadDir(filepath.Join(p.Dir, "dist"))
			require.Len(t, entries, 2, "only dist/root and its md5 sums")
			assert.Equal(t, []string{"root", "root.md5sums"}, []string{entries[0].Name(), entries[1].Name()})
			assert.Contains(t, run.log, "no build paths")
		})
	}
}

func TestReproducibleAcrossWorkspacesAndTimes(t *testing.T) {
	p := testutil.HelloProject(t, helloConfig)
	first := buildIn(t, p.Dir, t.TempDir())
	require.NoError(t, first.err, first.log)

	// Another workspace, another cache, a second later.
	other := filepath.Join(t.TempDir(), "elsewhere", "hello")
	require.NoError(t, os.MkdirAll(filepath.Dir(other), 0o755))
	out, err := exec.Command("cp", "-a", p.Dir, other).CombinedOutput()
	require.NoError(t, err, string(out))
	require.NoError(t, os.RemoveAll(filepath.Join(other, "dist")))
	time.Sleep(1100 * time.Millisecond)
	second := buildIn(t, other, t.TempDir())
	require.NoError(t, second.err, second.log)
	assert.False(t, second.res.ProjectCached || second.res.ResolutionCached, "a cold build")

	assert.Equal(t, first.res.Venv.Digest, second.res.Venv.Digest, "identical bytes, modes and time stamps")
	assert.Equal(t, first.res.Venv.Files, second.res.Venv.Files)
}

// countingIndex serves a PEP 503 simple index of the wheels in dir and counts
// the requests it gets.
func countingIndex(t *testing.T, dir string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	files := http.FileServer(http.Dir(dir))
	mux := http.NewServeMux()
	mux.HandleFunc("/simple/", func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		name := strings.Trim(strings.TrimPrefix(r.URL.Path, "/simple/"), "/")
		var links strings.Builder
		wheels, _ := filepath.Glob(filepath.Join(dir, "*.whl"))
		for _, f := range wheels {
			base := filepath.Base(f)
			if strings.HasPrefix(strings.ToLower(strings.ReplaceAll(base, "_", "-")), name+"-") {
				sum, _ := sha256File(f)
				fmt.Fprintf(&links, `<a href="/files/%s#sha256=%s">%s</a>`+"\n", base, sum, base)
			}
		}
		if links.Len() == 0 {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, "<!DOCTYPE html><html><body>\n%s</body></html>\n", links.String())
	})
	mux.Handle("/files/", http.StripPrefix("/files/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		files.ServeHTTP(w, r)
	})))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestWarmCacheBuildsNothingAndAsksNoIndex(t *testing.T) {
	p := testutil.HelloProject(t, `schema: 1
project: {name: hello, deploy_path: /opt/hello, python: /usr/bin/python3}
venv: {build_isolation: false}
`)
	srv, requests := countingIndex(t, filepath.Join(p.Dir, "wheels"))
	env := []string{"GOPYTHONGO_VENV_INDEX_URL=" + srv.URL + "/simple", "GOPYTHONGO_VENV_TRUSTED_HOSTS=127.0.0.1"}
	cache := t.TempDir()

	cold := buildIn(t, p.Dir, cache, env...)
	require.NoError(t, cold.err, cold.log)
	assert.Positive(t, requests.Load(), "the cold build asks the index")
	assert.False(t, cold.res.ProjectCached)

	requests.Store(0)
	warm := buildIn(t, p.Dir, cache, env...)
	require.NoError(t, warm.err, warm.log)
	assert.Zero(t, requests.Load(), "the warm build asks the index nothing")
	assert.True(t, warm.res.ProjectCached, "no wheel built")
	assert.True(t, warm.res.ResolutionCached)
	assert.Equal(t, cold.res.Venv.Digest, warm.res.Venv.Digest)

	// A changed source builds the project again, and only the project.
	p.WriteFile("src/hello/__init__.py", "\"\"\"Changed.\"\"\"\n\n__version__ = \"1.0.0\"\n")
	changed := buildIn(t, p.Dir, cache, env...)
	require.NoError(t, changed.err, changed.log)
	assert.False(t, changed.res.ProjectCached)
	assert.NotEqual(t, cold.res.Venv.Digest, changed.res.Venv.Digest)
}

func TestBadInputLeavesNoTree(t *testing.T) {
	tests := []struct {
		name   string
		extra  string // appended to the venv section
		files  map[string]string
		want   []string
		python string
	}{
		{"no interpreter", "", nil, []string{"/nonexistent/python3", "is not found", "project.python"}, "/nonexistent/python3"},
		{"missing wheel", "  packages: [no-such-dist==1.0]\n", nil, []string{"no-such-dist", "find_links"}, ""},
		{"hash mismatch", "  requirements: [requirements.txt]\n  project: false\n",
			map[string]string{"requirements.txt": "hello-lib==1.2.0 --hash=sha256:" + strings.Repeat("0", 64) + "\n"},
			[]string{"THESE PACKAGES DO NOT MATCH THE HASHES"}, ""},
		{"unpinned dependency in hash mode", "  requirements: [requirements.txt]\n",
			map[string]string{"requirements.txt": "# the project needs hello-lib, which is not pinned here\nwheel==0.38.4 --hash=sha256:" + debianWheelHash(t) + "\n"},
			[]string{"not pinned", "hello-lib"}, ""},
		{"failing post_build", "  post_build: [[-c, 'import sys; sys.exit(\"migration failed\")']]\n", nil,
			[]string{"post_build command failed", "migration failed"}, ""},
		{"leaked build path", "  post_build: [[-c, 'import os, sys; open(os.path.join(sys.prefix, \"where.txt\"), \"w\").write(os.environ[\"HOME\"])']]\n", nil,
			[]string{"names paths of the build machine", "/opt/hello/where.txt"}, ""},
		{"sdist with no_build", "  packages: [sdist-only==1.0]\n  no_build: true\n",
			map[string]string{"wheels/sdist-only-1.0.tar.gz": "not really"}, []string{"no_build"}, ""},
		{"no pyproject.toml", "", map[string]string{"pyproject.toml": ""}, []string{"holds no pyproject.toml", "venv.project: false"}, ""},
		{"not a python", "", nil, []string{"/bin/true is no Python interpreter", "printed nothing", "project.python"}, "/bin/true"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := helloConfig + tt.extra
			if strings.Contains(tt.extra, "--hash") || tt.files["requirements.txt"] != "" {
				cfg = strings.Replace(cfg, "find_links: [wheels]", "find_links: [wheels, /usr/share/python-wheels]", 1)
			}
			if tt.python != "" {
				cfg = strings.Replace(cfg, "python: /usr/bin/python3", "python: "+tt.python, 1)
			}
			p := testutil.HelloProject(t, cfg)
			for f, c := range tt.files {
				if c == "" {
					require.NoError(t, os.Remove(filepath.Join(p.Dir, f)))
					continue
				}
				p.WriteFile(f, c)
			}
			// An older tree must survive a failed build untouched.
			old := filepath.Join(p.Dir, "dist", "root", "opt", "hello")
			require.NoError(t, os.MkdirAll(old, 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(old, "marker"), []byte("old"), 0o644))

			run := buildIn(t, p.Dir, t.TempDir())
			require.Error(t, run.err)
			msg := run.err.Error() + run.log
			for _, w := range tt.want {
				assert.Contains(t, msg, w)
			}
			assert.NotContains(t, msg, "chdir", "a missing directory is not the message")
			assert.NotContains(t, msg, "JSON")
			b, err := os.ReadFile(filepath.Join(old, "marker"))
			require.NoError(t, err, "the old tree is still there")
			assert.Equal(t, "old", string(b))
			entries, _ := os.ReadDir(filepath.Join(p.Dir, "dist"))
			assert.Len(t, entries, 1, "no temporary build directory is left")
		})
	}
}

func TestOptions(t *testing.T) {
	p := testutil.HelloProject(t, helloConfig+`  strip: ['**/tests', 'lib/*/site-packages/hello_lib/__init__.py']
  extra_files: [{src: conf/app.ini, dst: etc/app.ini, mode: "0640"}]
  post_build: [[-c, 'import os, sys; open(os.path.join(sys.prefix, "etc", "built-by"), "w").write(os.environ["WHO"])']]
  env: {WHO: post_build}
  system_site_packages: true
  pip: true
  compile: false
`)
	p.WriteFile("conf/app.ini", "[app]\nname = hello\n")
	p.Git("add", "-A")
	p.Commit("conf")
	run := buildIn(t, p.Dir, t.TempDir())
	require.NoError(t, run.err, run.log)
	venv := filepath.Join(p.Dir, "dist", "root", "opt", "hello")
	fi, err := os.Stat(filepath.Join(venv, "etc", "app.ini"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o640), fi.Mode().Perm())
	b, err := os.ReadFile(filepath.Join(venv, "etc", "built-by"))
	require.NoError(t, err)
	assert.Equal(t, "post_build", string(b))
	_, err = os.Stat(filepath.Join(venv, "lib", "python3.11", "site-packages", "hello_lib", "__init__.py"))
	assert.True(t, os.IsNotExist(err), "stripped")
	assert.Positive(t, run.res.Stripped)
	cfg, _ := os.ReadFile(filepath.Join(venv, "pyvenv.cfg"))
	assert.Contains(t, string(cfg), "include-system-site-packages = true")
	_, err = os.Stat(filepath.Join(venv, "bin", "pip"))
	assert.NoError(t, err, "venv.pip keeps pip")
	pycs, _ := filepath.Glob(filepath.Join(venv, "lib", "python3.11", "site-packages", "hello", "__pycache__", "*.pyc"))
	assert.Empty(t, pycs, "compile: false")
}

func TestDeployPathWithoutParent(t *testing.T) {
	p := testutil.HelloProject(t, strings.Replace(helloConfig, "deploy_path: /opt/hello", "deploy_path: /srv/gopythongo-test/apps/hello", 1))
	run := buildIn(t, p.Dir, t.TempDir())
	require.NoError(t, run.err, run.log)
	_, err := os.Stat("/srv/gopythongo-test")
	assert.True(t, os.IsNotExist(err), "the mount point was made on an overlay, not on the machine")
	out := inNamespace(t, filepath.Join(p.Dir, "dist", "root"), "/srv/gopythongo-test/apps/hello", "/srv/gopythongo-test/apps/hello/bin/hello")
	assert.Equal(t, "Hello, world!\n", out)
}

// debianWheelHash is the sha256 of Debian's wheel wheel (python3-wheel-whl).
func debianWheelHash(t *testing.T) string {
	files, _ := filepath.Glob("/usr/share/python-wheels/wheel-0.38.4-py3-none-any.whl")
	require.Len(t, files, 1, "make test installs python3-wheel-whl")
	sum, err := sha256File(files[0])
	require.NoError(t, err)
	return sum
}

// The non-root test: the test binary runs itself as nobody, which builds in a
// user namespace. TestMain hands over to nonRootHelper when this is set.
const nonRootEnv = "GOPYTHONGO_TEST_NONROOT_STAGING"

func nonRootHelper(staging string) int {
	b, err := NewBuilder("host", BuilderOptions{Python: testutil.DebianPython, Staging: staging, DeployPath: "/opt/gopythongo-nonroot-test", Scratch: filepath.Join(filepath.Dir(staging), "scratch")})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for _, argv := range [][]string{{"/usr/bin/id", "-u"}, {"/usr/bin/touch", "/opt/gopythongo-nonroot-test/made-inside"}} {
		if err := b.Run(context.Background(), Command{Argv: argv, Env: []string{"PATH=/usr/bin:/bin"}, Dir: "/", Stdout: os.Stdout, Stderr: os.Stderr}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return 0
}

func TestHostBuilderWithoutRoot(t *testing.T) {
	require.Zero(t, os.Geteuid(), "this test switches to nobody, so it runs as root (as in CI)")
	dir, err := os.MkdirTemp("", "gopythongo-nonroot-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o755))
	self, err := os.Executable()
	require.NoError(t, err)
	bin := filepath.Join(dir, "venv.test")
	out, err := exec.Command("cp", self, bin).CombinedOutput()
	require.NoError(t, err, string(out))
	staging := filepath.Join(dir, "work", "stage")
	require.NoError(t, os.MkdirAll(staging, 0o755))
	require.NoError(t, exec.Command("chown", "-R", "65534:65534", filepath.Join(dir, "work")).Run())

	cmd := exec.Command(bin)
	cmd.Env = []string{"PATH=/usr/bin:/bin", nonRootEnv + "=" + staging}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "as nobody: %s", b)
	assert.Equal(t, "0\n", string(b), "root inside the user namespace")
	fi, err := os.Stat(filepath.Join(staging, "made-inside"))
	require.NoError(t, err, "the file went into the staging directory")
	assert.Equal(t, uint32(65534), fi.Sys().(*syscall.Stat_t).Uid, "owned by the real user")
	_, err = os.Stat("/opt/gopythongo-nonroot-test")
	assert.True(t, os.IsNotExist(err))
}

// TestReproducibleCompiledCode builds examples/hello-c in the chroot builder
// from two workspaces with two caches: the compiled extension names no build
// path (the prefix map), is stripped, and the trees are identical.
func TestReproducibleCompiledCode(t *testing.T) {
	const cfg = "schema: 1\nproject: {name: hello-c, deploy_path: /opt/hello-c, python: /usr/bin/python3}\nvenv: {no_index: true, build_isolation: false}\n"
	env := testutil.BuilderEnv(t, "chroot")
	first := buildIn(t, testutil.CProject(t, cfg).Dir, t.TempDir(), env...)
	require.NoError(t, first.err, first.log)
	assert.Contains(t, first.log, "debug symbols stripped from 1 file(s)")
	second := buildIn(t, testutil.CProject(t, cfg).Dir, t.TempDir(), env...)
	require.NoError(t, second.err, second.log)
	assert.False(t, second.res.ProjectCached, "compiled again")
	assert.Equal(t, first.res.Venv.Digest, second.res.Venv.Digest)

	// The dependencies are dpkg-shlibdeps' (this machine is Debian 12 too).
	sos, _ := filepath.Glob(filepath.Join(first.res.Root, "opt/hello-c/lib/python3.11/site-packages/hello_c/_crc.*.so"))
	require.Len(t, sos, 1)
	ctl := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(ctl, "debian"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(ctl, "debian", "control"), []byte("Source: hello-c\n\nPackage: hello-c\nArchitecture: any\n"), 0o644))
	cmd := exec.Command("dpkg-shlibdeps", "-O", sos[0])
	cmd.Dir = ctl
	out, err := cmd.Output()
	require.NoError(t, err)
	assert.Equal(t, "shlibs:Depends="+strings.Join(first.res.Venv.Depends, ", ")+"\n", string(out))
	assert.Equal(t, []string{"libc6 (>= 2.4)", "zlib1g (>= 1:1.1.4)"}, first.res.Venv.Depends)
}

// TestPostBuildRunsInTheVenv: post_build works in the deploy path, with the
// checkout off sys.path and read-only, so what it makes lands in the venv and
// a command that writes into the workspace fails, naming why.
func TestPostBuildRunsInTheVenv(t *testing.T) {
	probe := `import os, sys, json; json.dump({"cwd": os.getcwd(), "path": sys.path}, open("post_build.json", "w"))`
	p := testutil.HelloProject(t, helloConfig+fmt.Sprintf("  post_build_dir: share\n  extra_files: [{src: pyproject.toml, dst: share/keep}]\n  post_build:\n    - [-c, %q]\n", probe))
	run := buildIn(t, p.Dir, t.TempDir())
	require.NoError(t, run.err, run.log)
	data, err := os.ReadFile(filepath.Join(p.Dir, "dist", "root", "opt", "hello", "share", "post_build.json"))
	require.NoError(t, err, "the command's file is in the venv")
	var got struct {
		Cwd  string
		Path []string
	}
	require.NoError(t, json.Unmarshal(data, &got))
	assert.Equal(t, "/opt/hello/share", got.Cwd)
	for _, e := range got.Path {
		assert.NotEqual(t, p.Dir, e, "the checkout is not on sys.path")
		assert.NotEqual(t, "", e, "nor the working directory")
	}
	assert.NoFileExists(t, filepath.Join(p.Dir, "post_build.json"))

	p = testutil.HelloProject(t, helloConfig+fmt.Sprintf("  post_build:\n    - [-c, %q]\n", "open("+strconv.Quote(filepath.Join("PLACEHOLDER", "staticfiles.txt"))+", 'w')"))
	cfgFile := filepath.Join(p.Dir, ".gopythongo.yaml")
	cfg, err := os.ReadFile(cfgFile)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(cfgFile, []byte(strings.ReplaceAll(string(cfg), "PLACEHOLDER", p.Dir)), 0o644))
	p.Git("commit", "-qam", "write into the checkout")
	run = buildIn(t, p.Dir, t.TempDir())
	require.Error(t, run.err)
	assert.Contains(t, run.err.Error(), "Read-only file system")
	assert.Contains(t, run.err.Error(), "post_build may not write into the checkout")
	assert.NoFileExists(t, filepath.Join(p.Dir, "staticfiles.txt"))
}

// TestOfflineBuildSaysWhatToDo: an offline build with build isolation and
// no backend wheel, and one without isolation on an interpreter without
// setuptools, each end in pip's failure and what to do about it.
func TestOfflineBuildSaysWhatToDo(t *testing.T) {
	p := testutil.HelloProject(t, strings.Replace(helloConfig, "build_isolation: false", "build_isolation: true", 1))
	run := buildIn(t, p.Dir, t.TempDir())
	require.Error(t, run.err)
	assert.Contains(t, run.err.Error(), "pip could not get the build backend setuptools")
	assert.Contains(t, run.err.Error(), "venv.build_isolation: false")

	assert.Contains(t, pipHint("ModuleNotFoundError: No module named 'setuptools'\n", []string{"wheel", "--no-build-isolation"}), "install python3-setuptools and python3-wheel")
	assert.Empty(t, pipHint("No matching distribution found for requests==2.0\n", []string{"wheel"}), "a missing dependency is pip's own message")
	// A real compile without a compiler: hello-c with CC pointing nowhere.
	c := testutil.CProject(t, "schema: 1\nproject: {name: hello-c, deploy_path: /opt/hello-c, python: /usr/bin/python3}\nvenv: {no_index: true, build_isolation: false, env: {CC: /nonexistent/gcc}}\n")
	run = buildIn(t, c.Dir, t.TempDir())
	require.Error(t, run.err)
	assert.Contains(t, run.err.Error(), "add gcc and python3-dev", run.log)
	for _, out := range []string{
		"src/speedups.c:1:10: fatal error: Python.h: No such file or directory\n",
		"error: command 'x86_64-linux-gnu-gcc' failed: No such file or directory\n",
	} {
		assert.Contains(t, pipHint(out, []string{"wheel"}), "add gcc and python3-dev", out)
	}
}

// TestCacheRestoredElsewhereIsWarm: a CI cache restored at another path
// (another runner, another workspace) spares the same work: the keys name
// contents, never the cache's own path.
func TestCacheRestoredElsewhereIsWarm(t *testing.T) {
	t.Parallel()
	p := testutil.HelloProject(t, helloConfig)
	first := filepath.Join(t.TempDir(), "cache")
	run := buildIn(t, p.Dir, first)
	require.NoError(t, run.err, run.log)
	require.False(t, run.res.ProjectCached, "a cold cache builds the project")

	moved := filepath.Join(t.TempDir(), "restored", "elsewhere")
	require.NoError(t, os.MkdirAll(filepath.Dir(moved), 0o755))
	require.NoError(t, os.Rename(first, moved))
	again := buildIn(t, p.Dir, moved)
	require.NoError(t, again.err, again.log)
	assert.True(t, again.res.ProjectCached, "the project's wheel comes from the moved cache:\n%s", again.log)
	assert.True(t, again.res.ResolutionCached, "so does the resolution:\n%s", again.log)
	assert.True(t, again.res.TreeCached, "and the whole tree:\n%s", again.log)
	assert.Equal(t, run.res.Venv.Digest, again.res.Venv.Digest, "the same tree")
}

// TestCachedWheelIsHashedWhenReadAndOnlyThen: a build whose tree the tree
// cache holds reads no wheel, so a cached wheel changed since is neither
// hashed nor used; a build that installs it finds it changed, removes it and
// resolves again, and makes the same tree.
func TestCachedWheelIsHashedWhenReadAndOnlyThen(t *testing.T) {
	t.Parallel()
	p := testutil.HelloProject(t, helloConfig)
	cache := t.TempDir()
	first := buildIn(t, p.Dir, cache)
	require.NoError(t, first.err, first.log)
	cached, err := filepath.Glob(filepath.Join(cache, "wheels", "*", "hello_lib-*.whl"))
	require.NoError(t, err)
	require.Len(t, cached, 1)
	data, err := os.ReadFile(cached[0])
	require.NoError(t, err)
	data[len(data)/2] ^= 0xff // the same size, other bytes
	require.NoError(t, os.WriteFile(cached[0], data, 0o644))

	warm := buildIn(t, p.Dir, cache)
	require.NoError(t, warm.err, warm.log)
	assert.True(t, warm.res.TreeCached, warm.log)
	still, err := os.ReadFile(cached[0])
	require.NoError(t, err)
	assert.Equal(t, data, still, "the wheel was not read, so not found changed")

	require.NoError(t, os.RemoveAll(filepath.Join(p.Dir, "dist", "root")))
	require.NoError(t, forceRemoveAll(filepath.Join(cache, "trees")))
	again := buildIn(t, p.Dir, cache)
	require.NoError(t, again.err, again.log)
	assert.Contains(t, again.log, "not what its record says")
	assert.False(t, again.res.TreeCached)
	assert.Equal(t, first.res.Venv.Digest, again.res.Venv.Digest, "the same tree, from the wheel of find_links")
	good, err := os.ReadFile(cached[0])
	require.NoError(t, err)
	sum := sha256.Sum256(good)
	assert.Equal(t, filepath.Base(filepath.Dir(cached[0])), hex.EncodeToString(sum[:]), "the cache holds the wheel again")
}

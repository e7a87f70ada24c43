package venv

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/python"
	"github.com/gopythongo/gopythongo/internal/state"
	"github.com/gopythongo/gopythongo/internal/testutil"
	"github.com/gopythongo/gopythongo/internal/testutil/steptest"
	"github.com/gopythongo/gopythongo/internal/ui"
)

// member is an entry of a crafted wheel, with every way to lie about it.
type member struct {
	name    string
	data    string
	size    int64 // with gen: the size of generated content
	gen     func() io.Reader
	symlink bool
	store   bool
	hash    string // "" the right sha256; "empty" listed without a hash; "unlisted"; else written as given
	record  string // the RECORD size; "" the right one
}

func (m member) content() io.Reader {
	if m.gen != nil {
		return io.LimitReader(m.gen(), m.size)
	}
	return strings.NewReader(m.data)
}

// evilWheel writes a wheel of name 1.0 with the members and a RECORD as they
// say, and the dist-info a wheel needs.
func evilWheel(t testing.TB, dir, name string, members []member, entryPoints string) string {
	t.Helper()
	info := name + "-1.0.dist-info"
	members = append(members,
		member{name: info + "/METADATA", data: "Metadata-Version: 2.1\nName: " + name + "\nVersion: 1.0\n"},
		member{name: info + "/WHEEL", data: "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"})
	if entryPoints != "" {
		members = append(members, member{name: info + "/entry_points.txt", data: entryPoints})
	}
	var record strings.Builder
	for _, m := range members {
		h := sha256.New()
		n, err := io.Copy(h, m.content())
		require.NoError(t, err)
		hash := "sha256=" + base64.RawURLEncoding.EncodeToString(h.Sum(nil))
		size := strconv.FormatInt(n, 10)
		switch m.hash {
		case "unlisted":
			continue
		case "empty":
			hash = ""
		case "":
		default:
			hash = m.hash
		}
		if m.record != "" {
			size = m.record
		}
		fmt.Fprintf(&record, "%s,%s,%s\n", m.name, hash, size)
	}
	fmt.Fprintf(&record, "%s/RECORD,,\n", info)
	members = append(members, member{name: info + "/RECORD", data: record.String()})
	require.NoError(t, os.MkdirAll(dir, 0o755))
	p := filepath.Join(dir, name+"-1.0-py3-none-any.whl")
	f, err := os.Create(p)
	require.NoError(t, err)
	defer f.Close()
	zw := zip.NewWriter(f)
	for _, m := range members {
		h := &zip.FileHeader{Name: m.name, Method: zip.Deflate}
		if m.store {
			h.Method = zip.Store
		}
		h.SetMode(0o644)
		if m.symlink {
			h.SetMode(fs.ModeSymlink | 0o777)
		}
		w, err := zw.CreateHeader(h)
		require.NoError(t, err)
		_, err = io.Copy(w, m.content())
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	return p
}

// privatePython copies Debian's interpreter to a directory of the test: the
// project.python whose bytes a test checks after the build.
func privatePython(t *testing.T) (string, []byte) {
	t.Helper()
	real, err := filepath.EvalSymlinks(testutil.DebianPython)
	require.NoError(t, err)
	data, err := os.ReadFile(real)
	require.NoError(t, err)
	p := filepath.Join(t.TempDir(), "python3")
	require.NoError(t, os.WriteFile(p, data, 0o755))
	return p, data
}

var zeros = func() io.Reader { return zeroReader{} }

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// noise is incompressible, deterministic content.
func noise() io.Reader { return rand.NewChaCha8([32]byte{7}) }

var md5Hash = func() string {
	s := md5.Sum([]byte("x = 1\n"))
	return "md5=" + base64.RawURLEncoding.EncodeToString(s[:])
}()

// hostileWheels are wheels an attacker would publish, with what the refusal
// must say.
var hostileWheels = []struct {
	name        string
	members     []member
	entryPoints string
	env         []string
	want        string
}{
	{"script over the interpreter", []member{{name: "evil-1.0.data/scripts/python3", data: "#!/bin/sh\necho owned\n"}}, "", nil, "would replace bin/python3"},
	{"data over the interpreter", []member{{name: "evil-1.0.data/data/bin/python", data: "owned"}}, "", nil, "would replace bin/python"},
	{"data over pyvenv.cfg", []member{{name: "evil-1.0.data/data/pyvenv.cfg", data: "home = /tmp\n"}}, "", nil, "would replace pyvenv.cfg"},
	{"data over activate", []member{{name: "evil-1.0.data/data/bin/activate", data: "owned"}}, "", nil, "would replace bin/activate"},
	{"console script named python3", []member{{name: "evil/__init__.py", data: "def main(): pass\n"}}, "[console_scripts]\npython3 = evil:main\n", nil, "would replace bin/python3"},
	{"write through the lib64 link", []member{{name: "evil-1.0.data/data/lib64/python3.11/site-packages/evil.py", data: "x = 1\n"}}, "", nil, "symbolic link"},
	{"dot-dot member", []member{{name: "../../../../tmp/evil", data: "x"}}, "", nil, "could climb out of the venv"},
	{"dot-dot in .data", []member{{name: "evil-1.0.data/data/../../../evil", data: "x"}}, "", nil, "could climb out of the venv"},
	{"absolute member", []member{{name: "/tmp/evil-absolute", data: "x"}}, "", nil, "absolute"},
	{"symlink member", []member{{name: "evil/python", data: "/usr/bin/python3", symlink: true}}, "", nil, "symbolic link; wheels hold regular files only"},
	{"duplicate member", []member{{name: "evil/x.py", data: "x = 1\n"}, {name: "evil/x.py", data: "x = 2\n"}}, "", nil, "in the archive twice"},
	{"bad hash", []member{{name: "evil/x.py", data: "x = 1\n", hash: "sha256=" + base64.RawURLEncoding.EncodeToString(make([]byte, 32))}}, "", nil, "does not match its RECORD hash"},
	{"bad sha512", []member{{name: "evil/x.py", data: "x = 1\n", hash: "sha512=" + base64.RawURLEncoding.EncodeToString(make([]byte, 64))}}, "", nil, "does not match its RECORD hash"},
	{"missing hash", []member{{name: "evil/x.py", data: "x = 1\n", hash: "empty"}}, "", nil, "has no hash in RECORD"},
	{"weak hash", []member{{name: "evil/x.py", data: "x = 1\n", hash: md5Hash}}, "", nil, "no accepted algorithm"},
	{"unlisted member", []member{{name: "evil/x.py", data: "x = 1\n", hash: "unlisted"}}, "", nil, "not listed in RECORD"},
	{"wrong size", []member{{name: "evil/x.py", data: "x = 1\n", record: "5"}}, "", nil, "RECORD says 5"},
	{"compression bomb", []member{{name: "evil/bomb.bin", size: 256 << 20, gen: zeros}}, "", nil, "compression bomb"},
	{"entry over the limit", []member{{name: "evil/big.bin", size: 2 << 20, gen: noise}}, "", []string{"GOPYTHONGO_VENV_WHEEL_LIMITS_MAX_ENTRY_SIZE=1MiB"}, "venv.wheel_limits.max_entry_size"},
	{"console script path", []member{{name: "evil/__init__.py", data: "def main(): pass\n"}}, "[console_scripts]\n../../../tmp/evil = evil:main\n", nil, "is not name = module:object"},
}

const evilConfig = `schema: 1
project: {name: evil-app, deploy_path: /opt/evil-app, python: %s}
venv:
  project: false
  packages: [%s]
  find_links: [wheels]
  no_index: true
  compile: false
`

// TestHostileWheelsReachNothingOutside builds each hostile wheel with both
// installers, with a private copy of the interpreter as project.python: the
// build fails naming the wheel and the problem, the interpreter keeps its
// bytes, and no tree is left.
func TestHostileWheelsReachNothingOutside(t *testing.T) {
	cache := t.TempDir()
	for _, tt := range hostileWheels {
		for _, inst := range []string{"native", "pip"} {
			t.Run(tt.name+" "+inst, func(t *testing.T) {
				t.Parallel()
				py, before := privatePython(t)
				p := testutil.HelloProject(t, fmt.Sprintf(evilConfig, py, "evil==1.0"))
				evilWheel(t, filepath.Join(p.Dir, "wheels"), "evil", tt.members, tt.entryPoints)
				run := buildIn(t, p.Dir, cache, append(tt.env, "GOPYTHONGO_VENV_INSTALLER="+inst)...)
				require.Error(t, run.err, run.log)
				assert.Contains(t, run.err.Error(), tt.want)
				assert.Contains(t, run.err.Error(), "evil-1.0-py3-none-any.whl")
				after, err := os.ReadFile(py)
				require.NoError(t, err)
				assert.Equal(t, before, after, "the interpreter is untouched")
				_, err = os.Stat(filepath.Join(p.Dir, "dist", "root"))
				assert.True(t, os.IsNotExist(err), "no tree")
				for _, f := range []string{"/tmp/evil", "/tmp/evil-absolute", "/evil"} {
					_, err := os.Stat(f)
					assert.True(t, os.IsNotExist(err), "%s was written", f)
				}
			})
		}
	}
}

// TestAnotherDistributionsFileIsRefused: the second of two wheels may not
// replace the first's file, with either installer.
func TestAnotherDistributionsFileIsRefused(t *testing.T) {
	for _, inst := range []string{"native", "pip"} {
		t.Run(inst, func(t *testing.T) {
			p := testutil.HelloProject(t, fmt.Sprintf(evilConfig, testutil.DebianPython, "aaa==1.0, bbb==1.0"))
			evilWheel(t, filepath.Join(p.Dir, "wheels"), "aaa", []member{{name: "shared/mod.py", data: "A = 1\n"}}, "")
			evilWheel(t, filepath.Join(p.Dir, "wheels"), "bbb", []member{{name: "shared/mod.py", data: "import os\n"}}, "")
			run := buildIn(t, p.Dir, t.TempDir(), "GOPYTHONGO_VENV_INSTALLER="+inst)
			require.Error(t, run.err)
			assert.Contains(t, run.err.Error(), "bbb-1.0-py3-none-any.whl")
			assert.Contains(t, run.err.Error(), "a file of aaa-1.0-py3-none-any.whl")
		})
	}
}

// TestExtraFilesReplaceNothing: extra_files cannot replace the interpreter
// link, nor write through a link a post_build command left.
func TestExtraFilesReplaceNothing(t *testing.T) {
	for name, tc := range map[string]struct{ extra, want string }{
		"over the interpreter":   {"  extra_files: [{src: conf/x, dst: bin/python3}]\n", "is in the venv already"},
		"through the lib64 link": {"  extra_files: [{src: conf/x, dst: lib64/x}]\n", "symbolic link"},
	} {
		t.Run(name, func(t *testing.T) {
			py, before := privatePython(t)
			cfg := strings.Replace(helloConfig, "python: /usr/bin/python3", "python: "+py, 1) + tc.extra
			p := testutil.HelloProject(t, cfg)
			p.WriteFile("conf/x", "owned\n")
			p.Git("add", "-A")
			p.Commit("conf")
			run := buildIn(t, p.Dir, t.TempDir())
			require.Error(t, run.err)
			assert.Contains(t, run.err.Error(), tc.want)
			after, err := os.ReadFile(py)
			require.NoError(t, err)
			assert.Equal(t, before, after)
		})
	}
}

// installEnv makes the test binary install one wheel natively and verify it
// as the pip installer does, so that a test can read its peak memory.
const installEnv = "GOPYTHONGO_TEST_INSTALL_WHEEL"

func installHelper(spec string) int {
	wheel, staging, _ := strings.Cut(spec, ":")
	sum, err := sha256File(wheel)
	if err == nil {
		n := &nativeInstaller{staging: staging, deploy: "/opt/big", layout: layout{pyver: "3.11"}, limits: python.DefaultWheelLimits()}
		if err = n.Install(context.Background(), nil, []WheelFile{{Path: wheel, File: filepath.Base(wheel), SHA256: sum}}); err == nil {
			var a *python.WheelArchive
			if a, err = python.OpenWheel(wheel, python.DefaultWheelLimits()); err == nil {
				err = a.Verify() // what the pip installer does first
				a.Close()
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// The high-water mark of this image alone: the rusage of a child
	// carries the parent's resident size from the fork into its exec.
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for _, l := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			fmt.Println(l)
		}
	}
	return 0
}

// TestLargeEntryStreams installs a wheel with a 256 MiB member (incompressible,
// its hash right) in a process of its own and reads that process's peak
// resident memory from the kernel: the member is streamed, never held.
func TestLargeEntryStreams(t *testing.T) {
	dir := t.TempDir()
	w := evilWheel(t, dir, "big", []member{{name: "big/blob.bin", size: 256 << 20, gen: noise, store: true}}, "")
	staging := filepath.Join(dir, "venv")
	require.NoError(t, os.MkdirAll(staging, 0o755))
	self, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), installEnv+"="+w+":"+staging)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	m := regexp.MustCompile(`VmHWM:\s+(\d+) kB`).FindSubmatch(out)
	require.NotNil(t, m, "%s", out)
	kb, err := strconv.ParseInt(string(m[1]), 10, 64)
	require.NoError(t, err)
	peak := kb * 1024
	t.Logf("peak RSS installing and verifying a 256 MiB member: %d MiB", peak>>20)
	assert.Less(t, peak, int64(200<<20))
	fi, err := os.Stat(filepath.Join(staging, "lib", "python3.11", "site-packages", "big", "blob.bin"))
	require.NoError(t, err)
	assert.Equal(t, int64(256<<20), fi.Size())
}

// guardedScript runs the step in a mount namespace of its own where the
// machine's interpreter is bound read-only onto itself: were a write ever to
// get through the venv's bin/python3 link, it would fail there instead of
// replacing the machine's Python. The script is fixed; values come as
// arguments.
const guardedScript = `set -e
mount --make-rprivate /
mount --bind "$1" "$1"
mount -o remount,bind,ro "$1"
shift
exec "$@"`

// TestHostileWheelsInIsolatedBuilders builds the wheels that aim at the
// interpreter in the chroot and container builders, with both installers: the
// venv's bin/python3 there links to /usr/bin/python3, which from this machine's
// side of the staging directory is the machine's own interpreter.
func TestHostileWheelsInIsolatedBuilders(t *testing.T) {
	real, err := filepath.EvalSymlinks(testutil.DebianPython)
	require.NoError(t, err)
	before, err := os.ReadFile(real)
	require.NoError(t, err)
	bin := steptest.Binary(t, "gopythongo-build-venv")
	picked := map[string]bool{"script over the interpreter": true, "data over the interpreter": true, "write through the lib64 link": true}
	for _, builder := range []string{"chroot", "container"} {
		env := testutil.BuilderEnv(t, builder)
		for _, tt := range hostileWheels {
			if !picked[tt.name] {
				continue
			}
			for _, inst := range []string{"native", "pip"} {
				t.Run(builder+" "+tt.name+" "+inst, func(t *testing.T) {
					t.Parallel()
					p := testutil.HelloProject(t, fmt.Sprintf(evilConfig, testutil.DebianPython, "evil==1.0"))
					evilWheel(t, filepath.Join(p.Dir, "wheels"), "evil", tt.members, tt.entryPoints)
					st := &state.State{Commit: state.Commit{SHA: p.Head(), Provider: "local", Time: 1700000000}}
					require.NoError(t, st.Save(filepath.Join(p.Dir, "dist")))
					cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c", guardedScript, "sh", real, bin)
					cmd.Dir = p.Dir
					cmd.Env = append(os.Environ(), "GOPYTHONGO_VENV_CACHE_DIR="+t.TempDir(), "GOPYTHONGO_VENV_INSTALLER="+inst)
					cmd.Env = append(cmd.Env, env...)
					out, err := cmd.CombinedOutput()
					require.Error(t, err, string(out))
					assert.Equal(t, 1, cmd.ProcessState.ExitCode(), string(out))
					assert.Contains(t, string(out), tt.want)
					assert.Contains(t, string(out), "evil-1.0-py3-none-any.whl")
					assert.NotContains(t, string(out), "read-only file system", "the refusal came first, not the guard")
					_, err = os.Stat(filepath.Join(p.Dir, "dist", "root"))
					assert.True(t, os.IsNotExist(err), "no tree")
				})
			}
		}
	}
	t.Cleanup(func() {
		after, err := os.ReadFile(real)
		require.NoError(t, err)
		assert.Equal(t, before, after, "the machine's interpreter is untouched")
	})
}

// TestTestVenvRefusesHostileWheels: the throwaway venv of gopythongo-test
// goes through the same installers and refuses the same wheels.
func TestTestVenvRefusesHostileWheels(t *testing.T) {
	py, before := privatePython(t)
	p := testutil.HelloProject(t, strings.Replace(helloConfig, "python: /usr/bin/python3", "python: "+py, 1))
	evilWheel(t, filepath.Join(p.Dir, "wheels"), "evil", hostileWheels[0].members, "")
	p.WriteFile("requirements-test.txt", "evil==1.0\n")
	cfg, err := config.Load(config.Options{Dir: p.Dir, Environ: []string{"GOPYTHONGO_VENV_CACHE_DIR=" + t.TempDir()}})
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(cfg.DistDir(), 0o755)) // the test step makes it
	var log bytes.Buffer
	_, err = TestEnv(context.Background(), Options{Config: cfg, Epoch: epoch, Getenv: os.Getenv, Log: ui.New(&log, "test", nil), Output: &log},
		filepath.Join(t.TempDir(), "test-venv"), nil, []string{"requirements-test.txt"}, false, false)
	require.Error(t, err, log.String())
	assert.Contains(t, err.Error(), "would replace bin/python3")
	after, err := os.ReadFile(py)
	require.NoError(t, err)
	assert.Equal(t, before, after)
}

// TestStripFollowsNoLink: a strip glob that matches a link removes the link,
// never what it points to.
func TestStripFollowsNoLink(t *testing.T) {
	venv, outside := t.TempDir(), t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(outside, "keep.txt"), []byte("keep"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(venv, "lib", "pkg"), 0o755))
	require.NoError(t, os.Symlink(outside, filepath.Join(venv, "lib", "pkg", "tests")))
	n, err := strip(venv, []string{"**/tests", "**/keep.txt"}, nil)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	_, err = os.Lstat(filepath.Join(venv, "lib", "pkg", "tests"))
	assert.True(t, os.IsNotExist(err), "the link is gone")
	b, err := os.ReadFile(filepath.Join(outside, "keep.txt"))
	require.NoError(t, err)
	assert.Equal(t, "keep", string(b), "what it pointed to is not")
}

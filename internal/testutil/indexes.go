package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Index is a real Python package index a test started on 127.0.0.1.
type Index struct {
	// URL is the simple index (PEP 503), Upload the legacy upload API.
	URL, Upload string
	// User and Pass are the credentials, "" when the index is open.
	User, Pass string
	// Dir is where pypiserver keeps its files.
	Dir string
	*Process
}

// AuthURL is the simple index with the credentials in it.
func (ix *Index) AuthURL() string {
	if ix.User == "" {
		return ix.URL
	}
	return strings.Replace(ix.URL, "://", "://"+ix.User+":"+ix.Pass+"@", 1)
}

// StartPypiserver starts pypiserver (make deps installs it) serving the
// files of dirs; with auth, downloads and uploads need user and password
// (htpasswd, apache2-utils), and uploads land in the first dir.
func StartPypiserver(t testing.TB, auth bool, dirs ...string) *Index {
	t.Helper()
	if len(dirs) == 0 {
		dirs = []string{t.TempDir()}
	}
	port := FreePort(t)
	ix := &Index{URL: fmt.Sprintf("http://127.0.0.1:%d/simple/", port), Upload: fmt.Sprintf("http://127.0.0.1:%d/", port), Dir: dirs[0]}
	args := []string{"run", "-i", "127.0.0.1", "-p", fmt.Sprint(port), "--disable-fallback"}
	if auth {
		ix.User, ix.Pass = "ci", "s3cret-index-pass"
		htpasswd := filepath.Join(t.TempDir(), "htpasswd")
		if b, err := exec.Command("htpasswd", "-bcB", htpasswd, ix.User, ix.Pass).CombinedOutput(); err != nil {
			t.Fatalf("htpasswd (apache2-utils): %v\n%s", err, b)
		}
		args = append(args, "-P", htpasswd, "-a", "update,download,list")
	} else {
		args = append(args, "-P", ".", "-a", ".")
	}
	cmd := exec.Command(PyTool(t, "pypi-server"), append(args, dirs...)...)
	cmd.Env = CleanEnv()
	ix.Process = Start(t, cmd, func() bool { return answers(ix.Upload+"health", 200) || answers(ix.URL, 200, 401) })
	return ix
}

// StartDevpi starts devpi-server (make deps installs it) with a fresh state
// directory, and makes user ci with the index ci/dev (uploads need the
// password, reads are open, as devpi's default). URL is ci/dev's simple index.
func StartDevpi(t testing.TB) *Index {
	t.Helper()
	dir := t.TempDir()
	port := FreePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	env := append(CleanEnv(), "HOME="+dir)
	init := exec.Command(PyTool(t, "devpi-init"), "--serverdir", filepath.Join(dir, "server"), "--no-root-pypi")
	init.Env = env
	if b, err := init.CombinedOutput(); err != nil {
		t.Fatalf("devpi-init: %v\n%s", err, b)
	}
	cmd := exec.Command(PyTool(t, "devpi-server"), "--serverdir", filepath.Join(dir, "server"), "--host", "127.0.0.1", "--port", fmt.Sprint(port))
	cmd.Env = env
	ix := &Index{URL: base + "/ci/dev/+simple/", Upload: base + "/ci/dev/", User: "ci", Pass: "s3cret-devpi-pass", Dir: dir}
	ix.Process = Start(t, cmd, func() bool { return answers(base+"/+api", 200) })
	devpi := func(args ...string) {
		t.Helper()
		c := exec.Command(PyTool(t, "devpi"), append([]string{"--clientdir", filepath.Join(dir, "client")}, args...)...)
		c.Env = env
		if b, err := c.CombinedOutput(); err != nil {
			t.Fatalf("devpi %s: %v\n%s", strings.Join(args, " "), err, b)
		}
	}
	devpi("use", base)
	devpi("user", "-c", ix.User, "password="+ix.Pass)
	devpi("login", ix.User, "--password", ix.Pass)
	devpi("index", "-c", "dev", "bases=", "volatile=False")
	_ = os.RemoveAll(filepath.Join(dir, "client"))
	return ix
}

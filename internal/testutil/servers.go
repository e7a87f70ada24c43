package testutil

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// FreePort finds a free TCP port on 127.0.0.1.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Process is a server a test started; Stop ends it by its PID.
type Process struct {
	cmd  *exec.Cmd
	done chan struct{}
	log  *bytes.Buffer
}

// Start runs a server until the test ends and waits until ready answers
// true (at most 30 s).
func Start(t testing.TB, cmd *exec.Cmd, ready func() bool) *Process {
	t.Helper()
	p := &Process{cmd: cmd, done: make(chan struct{}), log: &bytes.Buffer{}}
	cmd.Stdout, cmd.Stderr = p.log, p.log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(p.Stop)
	deadline := time.Now().Add(30 * time.Second)
	for !ready() {
		select {
		case <-p.done:
			t.Fatalf("%s exited before it was ready:\n%s", cmd.Path, p.log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after 30s:\n%s", cmd.Path, p.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return p
}

// Stop ends the server (SIGTERM, then SIGKILL) and waits for it.
func (p *Process) Stop() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// Log is what the server wrote.
func (p *Process) Log() string { return p.log.String() }

// answers reports whether GET url gives one of the codes.
func answers(url string, codes ...int) bool {
	c := &http.Client{Timeout: time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	for _, code := range codes {
		if resp.StatusCode == code {
			return true
		}
	}
	return false
}

// Registry is Debian's docker-registry (distribution 2.8) on 127.0.0.1.
type Registry struct {
	Host       string // 127.0.0.1:port
	User, Pass string // set with auth
	Data       string
	*Process
}

// StartRegistry starts a registry, with htpasswd (bcrypt) auth when auth is set.
func StartRegistry(t testing.TB, auth bool) *Registry {
	t.Helper()
	dir := t.TempDir()
	r := &Registry{Host: fmt.Sprintf("127.0.0.1:%d", FreePort(t)), Data: filepath.Join(dir, "data")}
	conf := fmt.Sprintf("version: 0.1\nlog: {level: warn}\nstorage:\n  filesystem: {rootdirectory: %s}\n  delete: {enabled: true}\nhttp:\n  addr: %s\n", r.Data, r.Host)
	if auth {
		r.User, r.Pass = "ci", "s3cret-registry-pass"
		cmd := exec.Command("htpasswd", "-Bin", r.User)
		cmd.Stdin = strings.NewReader(r.Pass)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("htpasswd: %v", err)
		}
		WriteFile(t, filepath.Join(dir, "htpasswd"), string(out))
		conf += fmt.Sprintf("auth:\n  htpasswd: {realm: test, path: %s}\n", filepath.Join(dir, "htpasswd"))
	}
	WriteFile(t, filepath.Join(dir, "config.yml"), conf)
	r.Process = Start(t, exec.Command("docker-registry", "serve", filepath.Join(dir, "config.yml")), func() bool {
		return answers("http://"+r.Host+"/v2/", 200, 401)
	})
	return r
}

// Aptly is `aptly api serve` on 127.0.0.1 with a signing key in its GNUPGHOME.
type Aptly struct {
	URL       string
	Root      string // aptly's rootDir; the published repository is Root/public
	GNUPGHOME string
	KeyID     string // the signing key's fingerprint
	PublicKey string // its armored public key, for signed-by
	*Process
}

// StartAptly starts aptly's API with a fresh root and an ed25519 signing key
// made by gpg in a private GNUPGHOME; the gpg-agent is stopped by its PID.
func StartAptly(t testing.TB) *Aptly {
	t.Helper()
	dir := t.TempDir()
	a := &Aptly{URL: fmt.Sprintf("http://127.0.0.1:%d", FreePort(t)), Root: filepath.Join(dir, "root"), GNUPGHOME: filepath.Join(dir, "gnupg")}
	if err := os.MkdirAll(a.GNUPGHOME, 0o700); err != nil {
		t.Fatal(err)
	}
	gpg := func(args ...string) string {
		cmd := exec.Command("gpg", append([]string{"--batch", "--homedir", a.GNUPGHOME}, args...)...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("gpg %v: %v", args, err)
		}
		return string(out)
	}
	t.Cleanup(func() { stopAgent(a.GNUPGHOME) })
	gpg("--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key", "GoPythonGo Test <test@example.com>", "ed25519", "sign", "1y")
	for _, l := range strings.Split(gpg("--with-colons", "--list-secret-keys"), "\n") {
		if f := strings.Split(l, ":"); f[0] == "fpr" && a.KeyID == "" {
			a.KeyID = f[9]
		}
	}
	a.PublicKey = gpg("--armor", "--export", a.KeyID)
	conf := filepath.Join(dir, "aptly.conf")
	WriteFile(t, conf, fmt.Sprintf(`{"rootDir": %q, "architectures": ["amd64", "all"]}`, a.Root))
	cmd := exec.Command("aptly", "-config="+conf, "api", "serve", "-listen="+strings.TrimPrefix(a.URL, "http://"))
	cmd.Env = append(os.Environ(), "GNUPGHOME="+a.GNUPGHOME)
	a.Process = Start(t, cmd, func() bool { return answers(a.URL+"/api/version", 200) })
	return a
}

// stopAgent ends the gpg-agent of a GNUPGHOME by its PID, if one runs.
func stopAgent(home string) {
	out, err := exec.Command("gpg-connect-agent", "--homedir", home, "--no-autostart", "getinfo pid", "/bye").Output()
	if err != nil {
		return
	}
	for _, l := range strings.Split(string(out), "\n") {
		var pid int
		if _, err := fmt.Sscanf(l, "D %d", &pid); err == nil && pid > 1 {
			syscall.Kill(pid, syscall.SIGTERM)
		}
	}
}

// WriteFile writes a file, creating its directory.
func WriteFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad decodes configuration files: no input panics, and what loads
// keeps the rules that guard the build (a safe deploy path, single lines).
func FuzzLoad(f *testing.F) {
	if b, err := os.ReadFile("testdata/design.yaml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("schema: 1\nproject: {name: hello, deploy_path: /opt/hello}\npackage:\n  service: {exec: [/opt/hello/bin/hello]}\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, DefaultFile), data, 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := Load(Options{Dir: dir})
		if err != nil {
			return
		}
		if p := c.Project.DeployPath; p != "" && checkDeployPath(p) != "" {
			t.Fatalf("deploy path %q accepted", p)
		}
		for _, s := range append([]string{c.Package.Deb.Maintainer, c.Package.Homepage, c.Package.Description}, c.Package.Service.Exec...) {
			if strings.ContainsAny(s, "\n\r\x00") {
				t.Fatalf("%q accepted in a single-line field", s)
			}
		}
	})
}

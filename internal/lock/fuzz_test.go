package lock

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gopythongo/gopythongo/internal/python"
)

// FuzzRead: any bytes under any lock name are read or refused, and what is
// read selects without a panic.
func FuzzRead(f *testing.F) {
	seeds := map[string]string{
		"uv.lock":          "version = 1\n[[package]]\nname = \"app\"\nversion = \"1\"\nsource = { editable = \".\" }\ndependencies = [{ name = \"x\", marker = \"sys_platform == 'linux'\" }]\n[[package]]\nname = \"x\"\nversion = \"1\"\nsource = { registry = \"https://pypi.org/simple\" }\nwheels = [{ url = \"https://h/x-1-py3-none-any.whl\", hash = \"sha256:" + zeros + "\" }]\n",
		"pylock.toml":      "lock-version = \"1.0\"\n[[packages]]\nname = \"x\"\nversion = \"1\"\nmarker = \"'test' in extras\"\nwheels = [{ url = \"https://h/x-1-py3-none-any.whl\", hashes = { sha256 = \"" + zeros + "\" } }]\n",
		"poetry.lock":      "[[package]]\nname = \"x\"\nversion = \"1\"\ngroups = [\"main\"]\nmarkers = \"python_version >= \\\"3.8\\\"\"\nfiles = [{file = \"x-1-py3-none-any.whl\", hash = \"sha256:" + zeros + "\"}]\n[metadata]\nlock-version = \"2.1\"\n",
		"requirements.txt": "x==1 ; python_version > '3' \\\n    --hash=sha256:" + zeros + "\n",
	}
	i := 0
	names := []string{"uv.lock", "pylock.toml", "poetry.lock", "requirements.txt"}
	for _, n := range names {
		f.Add(uint8(i), []byte(seeds[n]))
		i++
	}
	env := python.Environment{"python_version": "3.11", "python_full_version": "3.11.2", "sys_platform": "linux", "os_name": "posix"}
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		p := filepath.Join(t.TempDir(), names[int(which)%len(names)])
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		l, err := Read(p)
		if err != nil {
			return
		}
		_, _ = l.Select(Target{Env: env, Extras: []string{"test"}, Groups: []string{"dev"}})
	})
}

var zeros = "0000000000000000000000000000000000000000000000000000000000000000"

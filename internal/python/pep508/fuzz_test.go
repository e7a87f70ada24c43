package pep508

import (
	"testing"

	"github.com/gopythongo/gopythongo/internal/python"
)

// FuzzParseRequirement: any text is a requirement or an error, and a marker
// that parses evaluates without a panic.
func FuzzParseRequirement(f *testing.F) {
	for _, s := range []string{"requests>=2.31,<3", "foo[bar, baz] ; python_version >= '3.8' and extra == \"x\"", "name @ https://h/x.whl ; os_name == 'posix'",
		"a ; (sys_platform == 'linux' or platform_machine in 'x86_64 aarch64') and python_full_version < \"3.11.3\"", "b ~= 1.4.5, != 1.4.7", "c === 1.0", "d==1.*"} {
		f.Add(s)
	}
	env := python.Environment{"python_version": "3.11", "python_full_version": "3.11.2", "sys_platform": "linux", "os_name": "posix", "platform_machine": "x86_64"}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRequirement(s)
		if err != nil {
			return
		}
		_, _ = r.Applies(env.With("extra", "x"))
		_ = r.Specifier.Contains("1.0")
	})
}

package config

import (
	_ "embed"
	"fmt"
	"path"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/gopythongo/gopythongo/internal/lazy"
)

// appBases are the places meant for applications: a deploy path is a directory
// of its own below one of them.
var appBases = []string{"/opt", "/srv", "/usr/local", "/usr/lib", "/var/lib"}

// systemNames are directories below the application places that belong to the
// system or to other packages: a venv there would mix with, or replace, them.
var systemNames = map[string][]string{
	"/usr/local": {"bin", "sbin", "lib", "lib64", "libexec", "include", "share", "etc", "man", "src", "games"},
	"/usr/lib":   {"apt", "dpkg", "systemd", "udev", "modules", "firmware", "jvm", "gcc", "locale", "ssl", "sudo", "debug", "kernel", "init", "lsb", "mime", "os-release", "pam.d", "security", "cgi-bin", "tmpfiles.d", "sysusers.d", "sysctl.d", "environment.d", "binfmt.d", "modprobe.d", "x86_64-linux-gnu", "aarch64-linux-gnu"},
	"/var/lib":   {"apt", "dpkg", "systemd", "ucf", "pam", "dbus", "polkit-1", "sudo", "misc", "private", "python", "docker", "containers"},
}

// systemPattern catches families: the interpreters' own directories
// (/usr/lib/python3.11) and multiarch library directories.
var systemPattern = lazy.Regexp(`^(python[0-9.]*|pypy[0-9.]*|[a-z0-9_]+-linux-[a-z0-9_]+)$`)

// deployChars are what a deploy path may hold: it ends up in #! lines, unit
// files and maintainer scripts, where a space or a quote breaks them.
var deployChars = lazy.Regexp(`^[A-Za-z0-9._+@/-]+$`)

// checkDeployPath refuses system directories, their parents and paths that
// would break in a #! line.
func checkDeployPath(p string) string {
	example := "use a directory of its own such as /opt/hello, /srv/hello or /usr/local/hello"
	if !strings.HasPrefix(p, "/") || path.Clean(p) != p || p == "/" {
		return fmt.Sprintf("%q must be a clean absolute path; %s", p, example)
	}
	if !deployChars().MatchString(p) {
		return fmt.Sprintf("%q holds a character that breaks #! lines and unit files (letters, digits and . _ + @ - only); %s", p, example)
	}
	for _, base := range appBases {
		rest, ok := strings.CutPrefix(p, base+"/")
		if !ok {
			continue
		}
		first, _, _ := strings.Cut(rest, "/")
		if strings.HasPrefix(first, ".") || systemPattern().MatchString(first) || slices.Contains(systemNames[base], first) {
			return fmt.Sprintf("%q is inside %s/%s, which belongs to the system; %s", p, base, first, example)
		}
		return ""
	}
	return fmt.Sprintf("%q is not below a place meant for applications (%s); a venv elsewhere mixes with the system's files: %s", p, strings.Join(appBases, ", "), example)
}

// multiLine are the keys whose values may span lines: environment variables
// that are passed to a process as they are, and image labels.
var multiLine = []string{"venv.env", "test.suites.*.env", "package.oci.labels"}

// controlChars reports every string of the configuration that holds a control
// character: a newline in a single-line field becomes a new directive in a
// unit file or a new field in a control file.
func (c *Config) controlChars() []error {
	var errs []error
	var walk func(v reflect.Value, p, pattern string)
	walk = func(v reflect.Value, p, pattern string) {
		switch v.Kind() {
		case reflect.String:
			if i := strings.IndexFunc(v.String(), func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }); i >= 0 && !slices.Contains(multiLine, pattern) {
				errs = append(errs, c.Errorf(p, "holds a control character (%q at byte %d); this key takes a single line", v.String()[i], i))
			}
		case reflect.Slice:
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i), fmt.Sprintf("%s[%d]", p, i), pattern)
			}
		case reflect.Map:
			keys := v.MapKeys()
			sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
			for _, k := range keys {
				if strings.ContainsFunc(k.String(), func(r rune) bool { return r < 0x20 || r == 0x7f }) {
					errs = append(errs, c.Errorf(p, "the name %q holds a control character", k.String()))
				}
				walk(v.MapIndex(k), p+"."+k.String(), pattern)
			}
		case reflect.Struct:
			t := v.Type()
			for i := 0; i < t.NumField(); i++ {
				f := t.Field(i)
				name := yamlName(f)
				if name == "" || name == "-" {
					continue
				}
				sub := pattern + "." + name
				if v.Kind() == reflect.Struct && pattern == "" {
					sub = name
				}
				if t == reflect.TypeOf(TestConfig{}) && name == "suites" {
					for _, k := range v.Field(i).MapKeys() {
						walk(v.Field(i).MapIndex(k), joinPath(p, name)+"."+k.String(), sub+".*")
					}
					continue
				}
				walk(v.Field(i), joinPath(p, name), sub)
			}
		}
	}
	walk(reflect.ValueOf(c).Elem(), "", "")
	return errs
}

//go:embed dpkg-architectures.txt
var dpkgArchitectures string

// isDpkgArchitecture reports whether a is an architecture dpkg knows
// (dpkg-architecture -L; a test holds the list against dpkg).
func isDpkgArchitecture(a string) bool {
	for _, line := range strings.Split(dpkgArchitectures, "\n") {
		if line == a && a != "" && !strings.HasPrefix(a, "#") {
			return true
		}
	}
	return false
}

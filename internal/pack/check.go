package pack

import (
	"context"
	"fmt"
	"slices"

	"github.com/gopythongo/gopythongo/internal/check"
	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/state"
)

// Check says whether the formats could be made here: what each needs from
// the configuration (a maintainer, a base image that can be read), from this
// machine (zstd) and, when the state file records the venv already, from
// its interpreter (the package that provides it). It writes nothing.
func Check(ctx context.Context, c *config.Config, formats []string, venv *state.Venv) []check.Finding {
	var fs []check.Finding
	add := func(f ...check.Finding) {
		for _, n := range f { // zstd is needed once, whichever format asks
			if !slices.ContainsFunc(fs, func(o check.Finding) bool { return o.Subject == n.Subject && n.Subject == "tool zstd" }) {
				fs = append(fs, n)
			}
		}
	}
	if _, err := PackersFor(formats); err != nil {
		return []check.Finding{check.Bad("package.formats", err)}
	}
	add(check.Good("package.formats", "%v", formats))
	interp := func(format, named string) {
		key := "package." + format + ".python_package"
		switch {
		case named != "":
			add(check.Good(key, "%s", named))
		case venv == nil:
			add(check.Notef(key, "the interpreter's package is asked of the venv gopythongo-build-venv records"))
		default:
			m := &Meta{Config: c, Venv: venv}
			pkg, err := interpreterPackage(m, named, format)
			if pkg == "" && err == nil {
				pkg = "Requires from package.rpm.requires"
			}
			add(check.Of(key, err, fmt.Sprintf("%s provides %s", pkg, venv.Interpreter.Executable)))
		}
	}
	for _, f := range formats {
		switch state.Format(f) {
		case state.FormatDeb:
			if c.Package.Deb.Maintainer == "" {
				add(check.Badf("package.deb.maintainer", "a .deb needs a maintainer, e.g. Hello Team <hello@example.com>"))
			} else {
				add(check.Good("package.deb.maintainer", "%s", c.Package.Deb.Maintainer))
			}
			interp("deb", c.Package.Deb.PythonPackage)
			if c.Package.Deb.Compression == "zstd" {
				add(check.Tool("zstd", "package.deb.compression: zstd", "apt-get install zstd, or use gzip or xz"))
			}
		case state.FormatRPM:
			interp("rpm", c.Package.RPM.PythonPackage)
		case state.FormatTarZst:
			add(check.Tool("zstd", "tar.zst", "apt-get install zstd, or make tar.gz or tar.xz"))
		case state.FormatOCI:
			img, err := LoadBase(ctx, c.Package.OCI.Base, c.Dir)
			if err == nil {
				_, err = img.ConfigFile()
			}
			add(check.Of("package.oci.base", err, c.Package.OCI.Base+" can be read"))
		}
	}
	return fs
}
